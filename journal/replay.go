package journal

import (
	"context"

	"github.com/inboxd/inboxd/inbox"
)

// ReplayCap is how far behind the newest event a staff feed may resume: a
// resume point further back (or before the oldest retained event) gets a
// "reload" instead of a replay, so a replay never reads more than this
// many ids' worth of rows.
const ReplayCap = 10_000

// replayPage is how many events one replay query reads.
const replayPage = 500

// EventFilter narrows a replay to the events a feed may send, in terms the
// store can answer by an index. It may let through more than the feed
// sends (the feed's own filter decides last), never less. The zero value
// matches every event.
type EventFilter struct {
	// ConversationID, if set: that conversation's events only.
	ConversationID int64
	// Kinds, if any: events of these kinds only.
	Kinds []inbox.EventKind
	// Agent, if set: what an agent may see (Event.Visible): the events
	// whose participants include Agent (its conversations, its presence)
	// and, of Queues (nil: every queue), the unassigned conversations'
	// events and the queues' own (queue.*).
	Agent  int64
	Queues []string
}

// ViewerFilter is the events u may see (Event.Visible), as a store filter.
func ViewerFilter(u *inbox.User) EventFilter {
	if u.Role.IsAdmin() {
		return EventFilter{}
	}
	return EventFilter{Agent: u.ID, Queues: u.Queues}
}

// Replay calls fn for every stored event after afterID that f and filter
// accept, in id order, and returns the last id it read (filter accepted it
// or not), so that a live stream can skip what replay already covered.
// The store reads only the rows f matches.
func Replay(ctx context.Context, r Reader, afterID int64, f EventFilter, filter func(*inbox.Event) bool, fn func(inbox.Event) error) (int64, error) {
	last := afterID
	for {
		evs, err := r.EventsMatching(ctx, f, last, replayPage)
		if err != nil {
			return last, err
		}
		for i := range evs {
			last = evs[i].ID
			if filter != nil && !filter(&evs[i]) {
				continue
			}
			if err := fn(evs[i]); err != nil {
				return last, err
			}
		}
		if len(evs) < replayPage {
			return last, nil
		}
	}
}

// ReplayGap reports whether a feed resuming after afterID should reload
// instead of replaying: events after it were deleted (it is before
// oldest; 0, "from the start", is not), or more than ReplayCap ids lie
// between it (or the oldest event) and newest.
func ReplayGap(afterID, oldest, newest int64) bool {
	if newest == 0 || afterID >= newest {
		return false
	}
	if afterID > 0 && afterID+1 < oldest {
		return true
	}
	return newest-max(afterID, oldest-1) > ReplayCap
}
