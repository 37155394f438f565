package api

// QueueOptions wires opening hours, presence, registered contacts and
// notifications (docs/DESIGN.md; issue "Opening hours, agent presence,
// offline contacts, notifications").
type QueueOptions struct{}

// queueRoutes: /api/v1/queues..., /api/v1/me/notifications,
// /widget/v1/:channel/config, /widget/v1/:channel/contact.
func (s *Server) queueRoutes() []Route { return nil }
