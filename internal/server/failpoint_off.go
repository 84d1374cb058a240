//go:build !failpoints

package server

// startFailpoints does nothing outside the failpoints build (see
// failpoint_on.go).
func (s *Server) startFailpoints() {}
