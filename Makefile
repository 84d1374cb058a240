# Shortcuts for zkd's test suites. `go test ./...` and `go run ./cmd/zkd` need
# nothing from here; these name the longer runs.

.PHONY: test ci interop fuzz chaos chaos-long

test:
	go test ./...

ci:
	.ci/run

interop:
	go test -tags interop -count=1 ./test/interop/...

fuzz:
	.ci/fuzz

chaos:
	go test -count=1 -v -run TestChaos ./test/chaos

# The long chaos mode: every nemesis alone and all together, 3 and 5
# servers, repeated with fresh seeds for DURATION (default 30m); the
# summary table is written to chaos-summary.md.
DURATION ?= 30m
chaos-long:
	ZKD_CHAOS=long ZKD_CHAOS_DURATION=$(DURATION) ZKD_CHAOS_SUMMARY=$(CURDIR)/chaos-summary.md \
		go test -count=1 -timeout 0 -v -run TestChaos ./test/chaos
