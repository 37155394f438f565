package queues

import (
	"context"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
)

// checkpointEvery is how often a queue's check mark is written when
// nothing happened: often enough that a restart has little to replay,
// rarely enough not to write on every poll.
const checkpointEvery = time.Minute

// catchUp computes what happened to q between prev.CheckedAt and now: the
// schedule's transitions, each an activity and an event at its own
// instant, and the state at now. A clock that went back records nothing
// and keeps the mark, so that moving forward again cannot record a
// transition twice.
func (m *Manager) catchUp(q *Queue, prev QueueState, now time.Time) ([]inbox.Activity, []inbox.Event, QueueState) {
	st := prev
	if now.Before(prev.CheckedAt) {
		return nil, nil, st
	}
	var (
		acts []inbox.Activity
		evs  []inbox.Event
	)
	o := orAuto(prev.Override)
	open := prev.Open
	record := func(to bool, at time.Time, by string) {
		kind := inbox.ActivityQueueClosed
		if to {
			kind = inbox.ActivityQueueOpened
		}
		data := map[string]string{"by": by}
		acts = append(acts, inbox.Activity{Queue: q.ID, Kind: kind, Data: data, CreatedAt: at})
		s := st
		s.Open = to
		evs = append(evs, m.queueEvent(openKind(to), q, s, at, data))
		open = to
	}
	if o == hours.OverrideAuto {
		for _, tr := range hours.Transitions(q.Schedule, prev.CheckedAt, now) {
			if tr.Open != open {
				record(tr.Open, tr.At, "schedule")
			}
		}
	}
	// The hours in the config may have changed while the daemon was down:
	// the state is computed, so the log is brought in line with it.
	if eff := hours.Effective(q.Schedule.IsOpen(now), o); eff != open {
		record(eff, now, "config")
	}
	st.CheckedAt, st.Open = now, open
	return acts, evs, st
}

// Tick records the transitions of every queue up to now. The daemon calls
// it every few seconds with its clock; after a restart or a clock jump it
// records exactly the transitions missed (hours.MaxCatchUp at most).
func (m *Manager) Tick(ctx context.Context) error {
	states, err := m.o.Store.QueueStates(ctx)
	if err != nil {
		return err
	}
	now := m.o.Clock.Now()
	var firstErr error
	for _, id := range m.order {
		q := m.queues[id]
		prev, seen := states[id]
		if !seen {
			st := QueueState{Override: hours.OverrideAuto, CheckedAt: now, Open: q.Schedule.IsOpen(now)}
			if _, err := m.o.Store.AdvanceQueue(ctx, id, 0, &st, nil, nil); err != nil && firstErr == nil {
				firstErr = err
			}
			continue
		}
		acts, evs, st := m.catchUp(q, prev, now)
		if len(acts) == 0 && now.Sub(prev.CheckedAt) < checkpointEvery {
			continue
		}
		ok, err := m.o.Store.AdvanceQueue(ctx, id, prev.Version, &st, acts, evs)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			for _, a := range acts {
				m.log.Info("queue "+string(a.Kind)[len("queue_"):], "queue", id, "at", a.CreatedAt, "by", a.Data["by"])
			}
			m.publish(evs)
		}
	}
	return firstErr
}
