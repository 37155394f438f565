package daemon

import "github.com/inboxd/inboxd/api"

// wireAssign serves assignment, transfer and private notes: the service
// writes, the store lists the colleagues, the config names the queues.
func wireAssign(w *wiring) api.AssignOptions {
	o := api.AssignOptions{Service: w.service, Colleagues: w.store}
	for _, q := range w.cfg.Queues {
		name := q.Name
		if name == "" {
			name = q.ID
		}
		o.Queues = append(o.Queues, api.QueueRef{ID: q.ID, Name: name})
	}
	return o
}

// QueueIDs lists the configured queues' ids.
func (c *Config) QueueIDs() []string {
	ids := make([]string, len(c.Queues))
	for i, q := range c.Queues {
		ids[i] = q.ID
	}
	return ids
}
