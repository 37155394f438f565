package queues

import (
	"context"
	"sync"
)

// feedBuffer is how far an in-app subscriber may lag before it is cut
// off; it reconnects with its last id and replays from the store.
const feedBuffer = 64

// feed fans in-app notifications out to each user's live connections.
type feed struct {
	mu   sync.Mutex
	subs map[int64]map[chan Notification]struct{}
}

func newFeed() *feed { return &feed{subs: map[int64]map[chan Notification]struct{}{}} }

func (f *feed) subscribe(userID int64) (chan Notification, func()) {
	ch := make(chan Notification, feedBuffer)
	f.mu.Lock()
	if f.subs[userID] == nil {
		f.subs[userID] = map[chan Notification]struct{}{}
	}
	f.subs[userID][ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() { once.Do(func() { f.remove(userID, ch) }) }
}

func (f *feed) remove(userID int64, ch chan Notification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[userID][ch]; ok {
		delete(f.subs[userID], ch)
		close(ch)
	}
	if len(f.subs[userID]) == 0 {
		delete(f.subs, userID)
	}
}

// publish never blocks: a subscriber that lags is closed.
func (f *feed) publish(ns []Notification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range ns {
		for ch := range f.subs[n.UserID] {
			select {
			case ch <- n:
			default:
				delete(f.subs[n.UserID], ch)
				close(ch)
			}
		}
	}
}

// SubscribeNotifications returns a user's live in-app notifications; the
// channel closes when the subscriber lags (replay with
// NotificationsSince). Call cancel when done.
func (m *Manager) SubscribeNotifications(userID int64) (<-chan Notification, func()) {
	return m.feed.subscribe(userID)
}

// NotificationsSince returns a user's stored notifications after an id,
// oldest first.
func (m *Manager) NotificationsSince(ctx context.Context, userID, afterID int64, limit int) ([]Notification, error) {
	return m.o.Store.NotificationsSince(ctx, userID, afterID, limit)
}
