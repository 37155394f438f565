package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// poisonStore fails any insert of a message whose text is "poison", in
// bulk or alone, as a constraint would.
type poisonStore struct{ inbox.Store }

func (p poisonStore) InTx(ctx context.Context, fn func(inbox.Tx) error) error {
	return p.Store.InTx(ctx, func(tx inbox.Tx) error { return fn(poisonTx{tx}) })
}

type poisonTx struct{ inbox.Tx }

// bulkInserts counts the groups' message inserts.
var bulkInserts atomic.Int64

var errPoison = errors.New("poisoned message")

func (p poisonTx) InsertMessage(ctx context.Context, m *inbox.Message) error {
	if m.Text == "poison" {
		return errPoison
	}
	return p.Tx.InsertMessage(ctx, m)
}

func (p poisonTx) InsertMessages(ctx context.Context, ms []*inbox.Message) error {
	bulkInserts.Add(1)
	for _, m := range ms {
		if m.Text == "poison" {
			return errPoison
		}
	}
	return p.Tx.InsertMessages(ctx, ms)
}

// TestGroupCommitFallsBack: a message the store refuses inside a group
// fails alone; its neighbours are stored once each, and nothing of the
// group's failed attempt remains.
func TestGroupCommitFallsBack(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			bulkInserts.Store(0)
			var mu sync.Mutex
			var published int
			svc := inbox.NewService(inbox.Options{Store: poisonStore{st}, Channels: channels,
				Publisher: publishFunc(func(evs []inbox.Event) { mu.Lock(); published += len(evs); mu.Unlock() })})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// One committer and a group that can hold everything: the
			// messages queue up while the first group commits.
			svc.StartGroupCommit(ctx, 1, 64, 5*time.Millisecond)
			const n = 40
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					text := fmt.Sprintf("text %d", i)
					if i%10 == 3 {
						text = "poison"
					}
					_, errs[i] = svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprintf("p%d", i),
						Contact: inbox.ContactInfo{ExternalID: fmt.Sprintf("c%d", i%6)}, Text: text})
				}(i)
			}
			wg.Wait()
			if bulkInserts.Load() == 0 {
				t.Fatal("no group was written whole")
			}
			for i, err := range errs {
				if poisoned := i%10 == 3; poisoned != (err != nil) {
					t.Fatalf("message %d: err = %v", i, err)
				}
			}
			var count, distinct int64
			st.DB().Raw(`SELECT COUNT(*) FROM messages`).Scan(&count)
			st.DB().Raw(`SELECT COUNT(DISTINCT external_id) FROM messages`).Scan(&distinct)
			if count != n-4 || distinct != n-4 {
				t.Fatalf("%d messages stored (%d distinct), want %d", count, distinct, n-4)
			}
			evs, _ := st.EventsSince(ctx, 0, 1000)
			mu.Lock()
			defer mu.Unlock()
			if len(evs) != 2*(n-4) || published != len(evs) {
				t.Fatalf("events stored %d, published %d, want %d", len(evs), published, 2*(n-4))
			}
		})
	}
}

type publishFunc func([]inbox.Event)

func (f publishFunc) Publish(evs []inbox.Event) { f(evs) }

// TestGroupCommitLingers: a committer that found a small group waits for
// the messages that arrive within its linger, and commits them together.
func TestGroupCommitLingers(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	var mu sync.Mutex
	var publishes []int
	svc := inbox.NewService(inbox.Options{Store: st, Channels: channels,
		Publisher: publishFunc(func(evs []inbox.Event) { mu.Lock(); publishes = append(publishes, len(evs)); mu.Unlock() })})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc.StartGroupCommit(ctx, 1, 4, 10*time.Second) // a full group ends the wait
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprintf("l%d", i),
				Contact: inbox.ContactInfo{ExternalID: fmt.Sprintf("c%d", i)}, Text: "hi"}); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(20 * time.Millisecond) // each arrives after the one before was taken
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(publishes) != 1 || publishes[0] != 8 {
		t.Fatalf("published %v, want one group of 4 messages (8 events)", publishes)
	}
}
