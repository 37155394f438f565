package daemon

import (
	"context"
	"log/slog"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/journal"
)

// wiring is what Start has built, handed to each feature's wire function
// (wire_*.go). A feature adds background work with addJob: it runs until
// shutdown and must return when its context is done.
type wiring struct {
	cfg        *Config
	store      *store.Store
	service    *inbox.Service
	hub        *journal.Hub
	channels   map[string]adapters.Channel
	infos      []inbox.ChannelInfo
	senders    map[string]inbox.Sender
	dispatcher *inbox.Dispatcher
	// publisher delivers a feature's committed events to the live feeds in
	// id order (the event pump, shared with the service).
	publisher inbox.Publisher
	log       *slog.Logger
	clock     inbox.Clock
	jobs      []func(ctx context.Context)
}

func (w *wiring) addJob(job func(ctx context.Context)) { w.jobs = append(w.jobs, job) }

// addLeaderJob adds background work that must run on one replica only
// (on PostgreSQL, the one holding the advisory lock named name).
func (w *wiring) addLeaderJob(name string, job func(ctx context.Context)) {
	w.addJob(func(ctx context.Context) { w.store.RunAsLeader(ctx, name, w.log, job) })
}
