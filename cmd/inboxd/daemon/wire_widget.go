package daemon

import (
	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/api"
)

// mountWidget mounts the website chat widget's HTTP (adapters/widget) on
// the API: its routes, public, and its Origin check and CORS. The API
// lends it JSON decoding, live feeds and typing notices; the store keeps
// visitors and reads messages; the service ingests; the queues manager
// answers the widget's config and takes its contact form.
func mountWidget(w *wiring, srv *api.Server, queueOpts api.QueueOptions) {
	chans := map[string]*widget.Channel{}
	for id, ch := range w.channels {
		if wc, ok := ch.(*widget.Channel); ok {
			chans[id] = wc
		}
	}
	o := widget.HTTPOptions{Channels: chans, Visitors: w.store, Ingest: w.service, Messages: w.store,
		Host: srv, Clock: w.clock}
	if queueOpts.Manager != nil {
		o.Queues = queueOpts.Manager // the widget's config and contact form
	}
	h := widget.NewHTTP(o)
	for _, r := range h.Routes() {
		srv.Mount(r.Method, r.Path, r.Handler)
	}
	srv.Use(h.Gate)
}
