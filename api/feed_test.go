package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// tcpPair returns both ends of a real TCP connection on 127.0.0.1.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// sseReader reads a feed's frames at the client.
type sseReader struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newSSEReader(t *testing.T, c net.Conn) *sseReader {
	return &sseReader{t: t, c: c, br: bufio.NewReader(c)}
}

// frame reads one frame ("...\n\n"), or fails after a few seconds.
func (r *sseReader) frame() string {
	r.t.Helper()
	s, err := r.read(5 * time.Second)
	if err != nil {
		r.t.Fatalf("reading a frame: %v (got %q)", err, s)
	}
	return s
}

func (r *sseReader) read(timeout time.Duration) (string, error) {
	r.c.SetReadDeadline(time.Now().Add(timeout))
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "\n\n") {
		line, err := r.br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// closed waits until the server has closed the connection.
func (r *sseReader) closed() {
	r.t.Helper()
	for {
		s, err := r.read(5 * time.Second)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			r.t.Fatalf("the feed was not closed (last read %q)", s)
		}
		if err != nil {
			return
		}
	}
}

func ev(id int64, conv int64) inbox.Event {
	return inbox.Event{ID: id, Kind: inbox.EventMessageCreated, ConversationID: conv, Payload: []byte(fmt.Sprintf(`{"n":%d}`, id))}
}

func agentFrame(id int64, conv int64) string {
	e := ev(id, conv)
	return string(agentFrames.encode(&e))
}

// gatedWriter counts a feed's writes (frames per write) and holds the
// first one until released.
type gatedWriter struct {
	feedWriter
	writes chan int
	gate   chan struct{}
	held   atomic.Bool
}

func newGatedWriter(w feedWriter) *gatedWriter {
	return &gatedWriter{feedWriter: w, writes: make(chan int, 100), gate: make(chan struct{})}
}

func (g *gatedWriter) write(frames [][]byte, deadline time.Time) error {
	g.writes <- len(frames)
	if g.held.CompareAndSwap(false, true) {
		<-g.gate
	}
	return g.feedWriter.write(frames, deadline)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFeedCoalescesWhileWriting: events that arrive while a write is under
// way leave in the next write, together, in order.
func TestFeedCoalescesWhileWriting(t *testing.T) {
	fs := newFeedSet(time.Hour)
	srv, cli := tcpPair(t)
	f := fs.open(nil, agentFrames)
	g := newGatedWriter(&connWriter{conn: srv})
	f.start(g, 0, nil)

	fs.Deliver([]inbox.Event{ev(1, 1)})
	if n := <-g.writes; n != 1 {
		t.Fatalf("first write: %d frames", n)
	}
	for id := int64(2); id <= 6; id++ {
		fs.Deliver([]inbox.Event{ev(id, 1)})
	}
	close(g.gate)
	if n := <-g.writes; n != 5 {
		t.Fatalf("second write: %d frames, want the 5 queued meanwhile", n)
	}
	r := newSSEReader(t, cli)
	for id := int64(1); id <= 6; id++ {
		if got, want := r.frame(), agentFrame(id, 1); got != want {
			t.Fatalf("frame %d: %q, want %q", id, got, want)
		}
	}
	select {
	case n := <-g.writes:
		t.Fatalf("an extra write of %d frames", n)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestFeedPacesWrites: an idle feed's event leaves at once; events that
// follow a write closer than the coalescing time leave together.
func TestFeedPacesWrites(t *testing.T) {
	fs := newFeedSet(time.Hour)
	fs.coalesce = 300 * time.Millisecond
	srv, cli := tcpPair(t)
	g := newGatedWriter(&connWriter{conn: srv})
	g.held.Store(true) // no gate
	fs.open(nil, agentFrames).start(g, 0, nil)
	start := time.Now()
	fs.Deliver([]inbox.Event{ev(1, 1)})
	if n := <-g.writes; n != 1 || time.Since(start) >= fs.coalesce {
		t.Fatalf("first write: %d frames after %s", n, time.Since(start))
	}
	for id := int64(2); id <= 4; id++ {
		fs.Deliver([]inbox.Event{ev(id, 1)})
	}
	if n := <-g.writes; n != 3 || time.Since(start) < fs.coalesce {
		t.Fatalf("second write: %d frames after %s", n, time.Since(start))
	}
	r := newSSEReader(t, cli)
	for id := int64(1); id <= 4; id++ {
		if r.frame() != agentFrame(id, 1) {
			t.Fatalf("frame %d", id)
		}
	}
}

// TestFeedFormatFilterAndEphemeral: the bytes of the feed; the filter
// decides per event; an ephemeral event (id 0) has no id line and does not
// move the resume point; the replay's events are not sent twice.
func TestFeedFormatFilterAndEphemeral(t *testing.T) {
	fs := newFeedSet(time.Hour)
	srv, cli := tcpPair(t)
	f := fs.open(func(e *inbox.Event) bool { return e.ConversationID == 7 }, agentFrames)
	typing := inbox.Event{Kind: inbox.EventTyping, ConversationID: 7, Payload: []byte(`{"who":"agent"}`)}
	// Before start (during the replay up to id 3) events queue.
	fs.Deliver([]inbox.Event{ev(2, 7), ev(3, 7), typing, ev(4, 8), ev(5, 7)})
	f.start(&connWriter{conn: srv}, 3, nil)
	fs.Deliver([]inbox.Event{ev(5, 7), ev(6, 9), typing, ev(7, 7)}) // 5 again: skipped
	want := "event: typing\ndata: {\"id\":0,\"kind\":\"typing\",\"conversation_id\":7,\"payload\":{\"who\":\"agent\"}}\n\n" +
		"id: 5\nevent: message.created\ndata: {\"id\":5,\"kind\":\"message.created\",\"conversation_id\":7,\"payload\":{\"n\":5}}\n\n" +
		"event: typing\ndata: {\"id\":0,\"kind\":\"typing\",\"conversation_id\":7,\"payload\":{\"who\":\"agent\"}}\n\n" +
		"id: 7\nevent: message.created\ndata: {\"id\":7,\"kind\":\"message.created\",\"conversation_id\":7,\"payload\":{\"n\":7}}\n\n"
	r := newSSEReader(t, cli)
	var got string
	for range 4 {
		got += r.frame()
	}
	if got != want {
		t.Fatalf("feed:\n%s\nwant:\n%s", got, want)
	}
	f.mu.Lock()
	last := f.last
	f.mu.Unlock()
	if last != 7 {
		t.Fatalf("resume point %d, want 7", last)
	}
}

// TestFeedEncodesOncePerBatch: feeds of the same kind share the frame.
func TestFeedEncodesOncePerBatch(t *testing.T) {
	fs := newFeedSet(time.Hour)
	var encoded atomic.Int32
	enc := &feedEncoding{key: "count", encode: func(e *inbox.Event) []byte {
		encoded.Add(1)
		return agentFrames.encode(e)
	}}
	var readers []*sseReader
	for range 3 {
		srv, cli := tcpPair(t)
		fs.open(nil, enc).start(&connWriter{conn: srv}, 0, nil)
		readers = append(readers, newSSEReader(t, cli))
	}
	fs.Deliver([]inbox.Event{ev(1, 1), ev(2, 1)})
	for _, r := range readers {
		if r.frame() != agentFrame(1, 1) || r.frame() != agentFrame(2, 1) {
			t.Fatal("wrong frames")
		}
	}
	if n := encoded.Load(); n != 2 {
		t.Fatalf("encoded %d times for 2 events and 3 feeds", n)
	}
}

// TestFeedKeepsOrder: many small batches, a client reading as it can:
// every event arrives once, in id order.
func TestFeedKeepsOrder(t *testing.T) {
	fs := newFeedSet(time.Hour)
	fs.buffer = 1 << 20
	srv, cli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
	const n = 3000
	go func() {
		for id := int64(1); id <= n; {
			var batch []inbox.Event
			for k := id % 4; k >= 0 && id <= n; k-- {
				batch = append(batch, ev(id, 1))
				id++
			}
			fs.Deliver(batch)
		}
	}()
	r := newSSEReader(t, cli)
	for id := int64(1); id <= n; id++ {
		if got := r.frame(); !strings.HasPrefix(got, fmt.Sprintf("id: %d\n", id)) {
			t.Fatalf("frame %d: %q", id, got)
		}
	}
}

// TestFeedClosesLaggards: a feed that falls more than its buffer behind,
// and one whose client stops reading past the write deadline, are closed
// (the client reconnects with Last-Event-ID); the others go on.
func TestFeedClosesLaggards(t *testing.T) {
	t.Run("buffer", func(t *testing.T) {
		fs := newFeedSet(time.Hour)
		fs.buffer = 8
		srv, cli := tcpPair(t)
		g := newGatedWriter(&connWriter{conn: srv})
		fs.open(nil, agentFrames).start(g, 0, nil)
		okSrv, okCli := tcpPair(t)
		fs.open(nil, agentFrames).start(&connWriter{conn: okSrv}, 0, nil)
		r := newSSEReader(t, okCli)
		deliver := func(id int64) {
			fs.Deliver([]inbox.Event{ev(id, 1)})
			if r.frame() != agentFrame(id, 1) { // the other feed keeps up
				t.Fatalf("the other feed lost event %d", id)
			}
		}
		deliver(1)
		<-g.writes // held
		for id := int64(2); id <= 9; id++ {
			deliver(id)
		}
		if fs.Subscribers() != 2 {
			t.Fatalf("closed at the buffer's size: %d feeds", fs.Subscribers())
		}
		deliver(10)
		if fs.Subscribers() != 1 {
			t.Fatalf("lagging feed not closed: %d feeds", fs.Subscribers())
		}
		close(g.gate)
		newSSEReader(t, cli).closed()
	})
	t.Run("write deadline", func(t *testing.T) {
		fs := newFeedSet(time.Hour)
		fs.writeTimeout = 100 * time.Millisecond
		srv, cli := tcpPair(t)
		cli.(*net.TCPConn).SetReadBuffer(4096)
		srv.(*net.TCPConn).SetWriteBuffer(4096)
		fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
		big := inbox.Event{ID: 1, Kind: inbox.EventMessageCreated, Payload: []byte(`"` + strings.Repeat("x", 1<<20) + `"`)}
		start := time.Now()
		fs.Deliver([]inbox.Event{big}) // the client never reads
		waitFor(t, "the feed closed", func() bool { return fs.Subscribers() == 0 })
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("closed after %s", d)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, cli); err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("client: %v", err)
		}
	})
}

// TestFeedHeartbeat: every heartbeat an idle feed gets a comment.
func TestFeedHeartbeat(t *testing.T) {
	fs := newFeedSet(40 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go fs.run(ctx, nil)
	srv, cli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
	r := newSSEReader(t, cli)
	for range 2 {
		if got := r.frame(); got != ": ping\n\n" {
			t.Fatalf("heartbeat: %q", got)
		}
	}
	fs.Deliver([]inbox.Event{ev(1, 1)})
	for {
		if got := r.frame(); got != ": ping\n\n" {
			if got != agentFrame(1, 1) {
				t.Fatalf("event: %q", got)
			}
			break
		}
	}
}

// TestFeedDropsGoneClients: a client that closed its side (after sending
// something or not) is dropped at the next sweep, without a write.
func TestFeedDropsGoneClients(t *testing.T) {
	fs := newFeedSet(time.Hour)
	fs.sweep = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go fs.run(ctx, nil)
	srv, cli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
	goneSrv, goneCli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: goneSrv}, 0, nil)
	chattySrv, chattyCli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: chattySrv}, 0, nil)
	goneCli.Close()
	chattyCli.Write([]byte("GET / HTTP/1.1\r\n\r\n")) // then goes
	chattyCli.Close()
	waitFor(t, "the gone clients' feeds closed", func() bool { return fs.Subscribers() == 1 })
	time.Sleep(100 * time.Millisecond) // sweeps leave the live one open
	fs.Deliver([]inbox.Event{ev(1, 1)})
	if got := newSSEReader(t, cli).frame(); got != agentFrame(1, 1) {
		t.Fatalf("event: %q", got)
	}
}

// TestFeedShutdownClosesFeeds: when RunFeeds ends, every feed is closed
// (streaming or still replaying) and no new one opens.
func TestFeedShutdownClosesFeeds(t *testing.T) {
	fs := newFeedSet(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { fs.run(ctx, nil); close(stopped) }()
	srv, cli := tcpPair(t)
	fs.open(nil, agentFrames).start(&connWriter{conn: srv}, 0, nil)
	replaying := fs.open(nil, agentFrames)
	fs.Deliver([]inbox.Event{ev(1, 1)})
	r := newSSEReader(t, cli)
	if r.frame() != agentFrame(1, 1) {
		t.Fatal("no event before shutdown")
	}
	cancel()
	<-stopped
	r.closed()
	if fs.Subscribers() != 0 {
		t.Fatalf("%d feeds left", fs.Subscribers())
	}
	// The feed that was replaying ends when it would start.
	lateSrv, lateCli := tcpPair(t)
	if replaying.start(&connWriter{conn: lateSrv}, 0, nil) {
		t.Fatal("a closed feed started")
	}
	newSSEReader(t, lateCli).closed()
	if fs.open(nil, agentFrames) != nil {
		t.Fatal("a feed opened after shutdown")
	}
}
