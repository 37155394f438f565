package daemon

import (
	"context"

	"github.com/inboxd/inboxd/api"
)

// wireQueues builds opening hours, presence, registered contacts and
// notifications.
func wireQueues(ctx context.Context, w *wiring) (api.QueueOptions, error) {
	return api.QueueOptions{}, nil
}
