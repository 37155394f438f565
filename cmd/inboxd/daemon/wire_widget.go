package daemon

import (
	"context"

	"github.com/inboxd/inboxd/api"
)

// wireWidget builds the website chat widget.
func wireWidget(ctx context.Context, w *wiring) (api.WidgetOptions, error) {
	return api.WidgetOptions{}, nil
}
