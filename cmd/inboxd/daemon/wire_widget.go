package daemon

import (
	"context"

	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
)

// wireWidget builds the website chat widget: its channels, the visitors'
// store, and the embedded widget files.
func wireWidget(ctx context.Context, w *wiring) (api.WidgetOptions, error) {
	chans := map[string]api.WidgetChannel{}
	for id, ch := range w.channels {
		if wc, ok := ch.(*widget.Channel); ok {
			chans[id] = widgetChannel{wc}
		}
	}
	return api.WidgetOptions{Channels: chans, Visitors: w.store, Ingest: w.service, Assets: widget.Assets}, nil
}

// widgetChannel adapts a widget channel to the API's view of it (the API
// names no adapter package).
type widgetChannel struct{ *widget.Channel }

func (c widgetChannel) Settings(accept string) any { return c.Channel.Settings(accept) }

func (c widgetChannel) Inbound(p api.WidgetPost) (inbox.Inbound, error) {
	return c.Channel.Inbound(widget.Post(p))
}
