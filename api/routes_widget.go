package api

// WidgetOptions wires the website chat widget.
type WidgetOptions struct{}

// widgetRoutes: /widget.js, /widget/v1/:channel/visitors, messages, events.
func (s *Server) widgetRoutes() []Route { return nil }
