package diff

// All returns the scenario corpus in a fixed order.
func All() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{
		createScenarios,
		dataScenarios,
		unknownOpScenarios(),
		aclScenarios,
		multiScenarios,
		watchScenarios,
		sessionScenarios,
		freshScenarios,
	} {
		all = append(all, group...)
	}
	return all
}
