package daemon

import (
	"context"

	"github.com/inboxd/inboxd/api"
)

// wireConsole builds the web console.
func wireConsole(ctx context.Context, w *wiring) (api.ConsoleOptions, error) {
	return api.ConsoleOptions{}, nil
}
