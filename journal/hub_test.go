package journal

import (
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestHubFiltersAndDropsLaggards(t *testing.T) {
	h := NewHub()
	all := h.Subscribe(nil)
	odd := h.Subscribe(func(e *inbox.Event) bool { return e.ID%2 == 1 })
	h.Publish([]inbox.Event{{ID: 1}, {ID: 2}, {ID: 3}})
	if got := len(all.C); got != 3 {
		t.Fatalf("all got %d", got)
	}
	if e := <-odd.C; e.ID != 1 {
		t.Fatalf("odd got %d", e.ID)
	}
	if e := <-odd.C; e.ID != 3 {
		t.Fatalf("odd got %d", e.ID)
	}
	// Fill "all" past its buffer: it is dropped, "odd" is not held up.
	if len(odd.C) != 0 {
		t.Fatalf("odd has %d unread events", len(odd.C))
	}
	batch := make([]inbox.Event, SubscriberBuffer)
	for i := range batch {
		batch[i].ID = int64(i*2 + 1)
	}
	h.Publish(batch)
	if !all.Dropped() {
		t.Fatal("lagging subscriber not dropped")
	}
	n := 0
	for range all.C {
		n++
	}
	if n != SubscriberBuffer {
		t.Fatalf("dropped subscriber drained %d buffered events, want %d", n, SubscriberBuffer)
	}
	if odd.Dropped() || h.Subscribers() != 1 {
		t.Fatalf("odd dropped=%v subscribers=%d", odd.Dropped(), h.Subscribers())
	}
	odd.Close()
	odd.Close() // idempotent
	if h.Subscribers() != 0 {
		t.Fatal("close did not unsubscribe")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{ID: 42, At: time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)}
	got, err := DecodeCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "!!", "bm9kb3Q", "MTIuMA", "LTEuNQ", string(make([]byte, 100))} {
		if _, err := DecodeCursor(bad); inbox.ErrorCode(err) != inbox.EInvalid {
			t.Errorf("DecodeCursor(%q) err = %v", bad, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{ID: 7, At: time.Unix(1700000000, 0).UTC()}.Encode())
	f.Add("MTIzLjQ1")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			return
		}
		if c.ID <= 0 {
			t.Fatalf("accepted id %d", c.ID)
		}
		if back, err := DecodeCursor(c.Encode()); err != nil || back != c {
			t.Fatalf("re-encode: %+v %v", back, err)
		}
	})
}

// sinkRecorder is a Sink that keeps what it is given.
type sinkRecorder struct {
	batches [][]inbox.Event
	n       int
}

func (s *sinkRecorder) Deliver(evs []inbox.Event) { s.batches = append(s.batches, evs) }
func (s *sinkRecorder) Subscribers() int          { return s.n }

func TestHubDeliversToSinks(t *testing.T) {
	h := NewHub()
	sub := h.Subscribe(nil)
	defer sub.Close()
	a, b := &sinkRecorder{n: 3}, &sinkRecorder{n: 4}
	h.Attach(a)
	detach := h.Attach(b)
	if n := h.Subscribers(); n != 8 {
		t.Fatalf("subscribers %d, want 1 + 3 + 4", n)
	}
	h.Publish([]inbox.Event{{ID: 1}, {ID: 2}})
	h.Publish(nil) // nothing to deliver
	detach()
	h.Publish([]inbox.Event{{ID: 3}})
	if len(a.batches) != 2 || len(a.batches[0]) != 2 || a.batches[1][0].ID != 3 || len(b.batches) != 1 {
		t.Fatalf("sinks got %v and %v", a.batches, b.batches)
	}
	if h.Subscribers() != 4 || len(sub.C) != 3 {
		t.Fatalf("after detach: %d subscribers, %d events on the subscription", h.Subscribers(), len(sub.C))
	}
}
