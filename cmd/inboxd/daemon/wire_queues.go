package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
	"github.com/inboxd/inboxd/journal"
)

// queuePoll is how often opening hours, presence, transcripts and slow
// chats are checked. Each check asks the clock, so a test that moves its
// clock sees the effect within one poll.
const queuePoll = time.Second

// wireQueues builds opening hours, presence, registered contacts and
// notifications.
func wireQueues(ctx context.Context, w *wiring) (api.QueueOptions, error) {
	var qs []queues.Queue
	for _, qc := range w.cfg.Queues {
		q := queues.Queue{ID: qc.ID, Name: qc.Name, Schedule: qc.Schedule, OfflineMessage: qc.Offline.Message,
			OnlineMessage: qc.OnlineMessage, SlowAfter: qc.SlowAfter}
		q.Offline.Mode = qc.Offline.Mode
		for _, qu := range qc.Offline.Questions {
			q.Questions = append(q.Questions, queues.Question{ID: qu.ID, Label: qu.Label, Required: qu.Required})
		}
		qs = append(qs, q)
	}
	mailer, err := notificationMailer(w.cfg)
	if err != nil {
		return api.QueueOptions{}, err
	}
	m := queues.New(queues.Options{
		Store: w.store, Service: w.service, Publisher: queuePublisher(w), Clock: w.clock,
		Logger: w.log.With("component", "queues"), Queues: qs, Channels: w.infos,
		IdleAfter: w.cfg.Presence.IdleAfter, Mailer: mailer, PublicURL: strings.TrimSuffix(w.cfg.PublicURL, "/"),
	})
	last, err := w.store.LastEventID(ctx)
	if err != nil {
		return api.QueueOptions{}, err
	}
	// Transitions, presence switches and notifications are decided on one
	// replica (each would otherwise be recorded or sent once per replica);
	// every replica drains the mail queue its manager fills.
	w.addLeaderJob("queues", func(ctx context.Context) {
		done := make(chan struct{})
		go func() { defer close(done); runNotifier(ctx, w, m, last) }()
		runQueueTicks(ctx, w, m)
		<-done
	})
	w.addJob(m.RunMailer)
	return api.QueueOptions{Manager: m}, nil
}

// queuePublisher is how the manager's committed events reach the hub: the
// event pump, which delivers each id once and in order on both stores.
func queuePublisher(w *wiring) inbox.Publisher { return w.publisher }

// runQueueTicks records queue transitions, switches presence and sends
// what is due, once per poll.
func runQueueTicks(ctx context.Context, w *wiring, m *queues.Manager) {
	log := w.log.With("component", "queues")
	t := time.NewTicker(queuePoll)
	defer t.Stop()
	for {
		for name, tick := range map[string]func(context.Context) error{
			"opening hours": m.Tick, "presence": m.PresenceTick, "notifications": m.NotifyTick,
		} {
			if err := tick(ctx); err != nil && ctx.Err() == nil {
				log.Warn(name+" check failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runNotifier hands every committed customer message to the manager, in
// order, in runs of what has arrived meanwhile (up to notifierRun), so that
// a busy inbox costs a few queries per run rather than per message. When
// the hub drops it for lagging, it resubscribes and replays what it missed
// from the events table, so nothing is skipped.
func runNotifier(ctx context.Context, w *wiring, m *queues.Manager, last int64) {
	log := w.log.With("component", "notifier")
	// Customer messages, notes (mentions) and assignments.
	kinds := []inbox.EventKind{inbox.EventMessageCreated, inbox.EventConversationAssigned}
	filter := func(e *inbox.Event) bool {
		return e.Kind == inbox.EventMessageCreated || e.Kind == inbox.EventConversationAssigned
	}
	var pending []inbox.Event
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := m.HandleEvents(ctx, pending); err != nil && ctx.Err() == nil {
			log.Warn("notification failed", "first_event_id", pending[0].ID, "last_event_id", pending[len(pending)-1].ID, "err", err)
		}
		last = pending[len(pending)-1].ID
		pending = pending[:0]
	}
	add := func(e inbox.Event) error {
		if e.ID <= last || (len(pending) > 0 && e.ID <= pending[len(pending)-1].ID) {
			return nil
		}
		pending = append(pending, e)
		if len(pending) >= notifierRun {
			flush()
		}
		return nil
	}
	for ctx.Err() == nil {
		sub := w.hub.Subscribe(filter)
		_, err := journal.Replay(ctx, w.store, last, journal.EventFilter{Kinds: kinds}, filter, add)
		if err != nil && ctx.Err() == nil {
			log.Warn("notifier replay failed", "err", err)
		}
		flush()
	live:
		for {
			select {
			case <-ctx.Done():
				sub.Close()
				return
			case e, ok := <-sub.C:
				if !ok {
					break live
				}
				add(*e)
				// Take what else has arrived, then handle the run.
			more:
				for len(pending) < notifierRun {
					select {
					case e, ok := <-sub.C:
						if !ok {
							break more
						}
						add(*e)
					default:
						break more
					}
				}
				flush()
			}
		}
		sub.Close()
	}
}

// notifierRun bounds the events the notifier handles together.
const notifierRun = 256
