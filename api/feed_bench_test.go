//go:build unix

package api

import (
	"io"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// BenchmarkFeedFanout is the feed path's CPU cost per delivered event:
// 1,000 feeds on 127.0.0.1, 500 batches of 2 message-sized events a
// second (the fanout target), clients reading into io.Discard in this
// process. cpu-µs/delivery counts the whole process (encoding, queueing,
// the writers, both sides of the loopback copy).
//
//	go test -run='^$' -bench=FeedFanout -benchtime=2000x ./api/
func BenchmarkFeedFanout(b *testing.B) {
	const feeds = 1000
	fs := newFeedSet(time.Hour)
	fs.buffer = 1 << 20 // measure the cost, not the laggard rule, on a busy machine
	var read atomic.Int64
	for range feeds {
		srv, cli := tcpPair(b)
		fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
		go io.Copy(countingDiscard{&read}, cli)
	}
	payload := []byte(`{"id":1234567,"conversation_id":765432,"direction":"in","author":{"id":0,"name":"Customer 1234"},` +
		`"text":"inboxbench message 0123abcd-123456","attachments":[],"created_at":"2026-11-21T14:44:18.125796Z",` +
		`"edited_at":null,"delivery":null}`)
	batch := func(i int) []inbox.Event {
		id := int64(2*i + 1)
		return []inbox.Event{
			{ID: id, Kind: inbox.EventMessageCreated, ConversationID: 9, Payload: payload},
			{ID: id + 1, Kind: inbox.EventConversationUpdated, ConversationID: 9, Payload: payload},
		}
	}
	var want int64
	for i := range b.N {
		for _, e := range batch(i) {
			want += int64(len(agentFrames.encode(&e))) * feeds
		}
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	cpu0, start := cpu(), time.Now()
	for i := range b.N {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 2 * time.Millisecond)))
		fs.Deliver(batch(i))
	}
	for read.Load() < want && time.Since(start) < time.Duration(b.N)*2*time.Millisecond+time.Minute {
		time.Sleep(time.Millisecond)
	}
	used := cpu() - cpu0
	b.StopTimer()
	fs.close()
	if got := read.Load(); got != want {
		b.Fatalf("read %d bytes of %d", got, want)
	}
	deliveries := float64(b.N) * 2 * feeds
	b.ReportMetric(float64(used.Microseconds())/deliveries, "cpu-µs/delivery")
	b.ReportMetric(0, "ns/op")
}

// countingDiscard counts what it is given.
type countingDiscard struct{ n *atomic.Int64 }

func (w countingDiscard) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}
