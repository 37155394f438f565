package daemon

import (
	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/api"
)

// mountWidget mounts the website chat widget's HTTP (adapters/widget) on
// the API: its routes, public, and its Origin check and CORS. The API
// lends it JSON decoding, live feeds and typing notices; the store keeps
// visitors and reads messages; the service ingests.
func mountWidget(w *wiring, srv *api.Server) {
	chans := map[string]*widget.Channel{}
	for id, ch := range w.channels {
		if wc, ok := ch.(*widget.Channel); ok {
			chans[id] = wc
		}
	}
	h := widget.NewHTTP(widget.HTTPOptions{Channels: chans, Visitors: w.store, Ingest: w.service,
		Messages: w.store, Host: srv, Clock: w.clock})
	for _, r := range h.Routes() {
		srv.Mount(r.Method, r.Path, r.Handler)
	}
	srv.Use(h.Gate)
}
