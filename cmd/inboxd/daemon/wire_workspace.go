package daemon

import (
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
)

// wireWorkspace builds tags and canned replies over the store, sharing the
// service's clock, channels and event publisher.
func wireWorkspace(w *wiring) api.WorkspaceOptions {
	var queues []string
	for _, q := range w.cfg.Queues {
		queues = append(queues, q.ID)
	}
	return api.WorkspaceOptions{Workspace: inbox.NewWorkspace(w.service, w.store, queues)}
}
