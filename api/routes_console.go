package api

// ConsoleOptions wires the web console for admins and agents.
type ConsoleOptions struct{}

// consoleRoutes: the console pages at / and the API they need beyond the
// core (statistics, password, API tokens).
func (s *Server) consoleRoutes() []Route { return nil }
