package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/queues"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

func TestQueueStore(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d)
			ctx := context.Background()
			testAgents(t, f, ctx)
		})
	}
}

func testAgents(t *testing.T, f *fixture, ctx context.Context) {
	if err := f.st.SavePresence(ctx, f.anna.ID, inbox.PresenceOnline, &queues.Manual{Presence: inbox.PresenceOnline, At: f.now},
		[]inbox.Event{{Kind: inbox.EventPresenceChanged, Participants: []int64{f.anna.ID}, Payload: []byte(`{}`), CreatedAt: f.now}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAgentHours(ctx, f.bob.ID, hours.Config{Timezone: "Europe/Helsinki", Open: "0 9 * * *", Close: "0 17 * * *"}); err != nil {
		t.Fatal(err)
	}
	as, err := f.st.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 3 {
		t.Fatalf("agents: %+v", as)
	}
	byID := map[int64]queues.Agent{}
	for _, a := range as {
		byID[a.User.ID] = a
	}
	a, b := byID[f.anna.ID], byID[f.bob.ID]
	if a.User.Presence != inbox.PresenceOnline || a.Manual.Presence != inbox.PresenceOnline || !a.Manual.At.Equal(f.now) ||
		a.User.Email != "anna@example.com" || len(a.User.Queues) != 1 {
		t.Fatalf("anna: %+v", a)
	}
	if b.Hours.Open != "0 9 * * *" || b.Hours.Timezone != "Europe/Helsinki" || b.Manual.Presence != "" || b.User.Presence != inbox.PresenceOffline {
		t.Fatalf("bob: %+v", b)
	}
	_ = time.Second
}
