package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox/store"
)

// wireConsole builds the web console: its store queries and the queues
// whose statistics it counts (in each queue's timezone).
func wireConsole(ctx context.Context, w *wiring) (api.ConsoleOptions, error) {
	o := api.ConsoleOptions{Store: consoleStore{w.store}}
	for i, q := range w.cfg.Queues {
		loc := time.UTC
		if q.Timezone != "" {
			l, err := time.LoadLocation(q.Timezone)
			if err != nil {
				return o, fmt.Errorf("queues[%d] (%s).timezone: %w", i, q.ID, err)
			}
			loc = l
		}
		name := q.Name
		if name == "" {
			name = q.ID
		}
		o.Queues = append(o.Queues, api.ConsoleQueue{ID: q.ID, Name: name, Location: loc})
	}
	return o, nil
}

// consoleStore adapts the store's types to the API's, so that api does
// not import the store.
type consoleStore struct{ *store.Store }

func (c consoleStore) APITokens(ctx context.Context, userID int64) ([]api.TokenView, error) {
	ts, err := c.Store.APITokens(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]api.TokenView, len(ts))
	for i, t := range ts {
		out[i] = api.TokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)}
	}
	return out, nil
}

func (c consoleStore) ConversationStats(ctx context.Context, queue string, from, to time.Time) ([]api.StatConversation, error) {
	rs, err := c.Store.ConversationStats(ctx, queue, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]api.StatConversation, len(rs))
	for i, r := range rs {
		out[i] = api.StatConversation{ID: r.ID, ChannelID: r.ChannelID, Status: r.Status, CreatedAt: r.CreatedAt, FirstReplyAt: r.FirstReplyAt}
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

var _ api.ConsoleStore = consoleStore{}
