package api

import (
	"context"
	"sync"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// The connection model of the live feeds (SSE). A feed keeps no goroutine
// and no buffer while it is idle: after the headers and the replay, the
// handler takes the connection out of net/http (feedconn.go) and returns.
// What remains per connection is the socket, the feed's filter, its resume
// point and a queue of encoded frames. The hub hands every batch of events
// to the feed set (one journal.Sink for all feeds), which encodes each
// event once per encoding and queues the frames on the feeds that accept
// it. A feed with frames queued and no writer starts one: a goroutine that
// writes everything queued in one write and exits when the queue is empty.
// A feed writes at most once per feedCoalesce: events that follow a write
// closer than that wait and leave together, so under load one write (one
// system call) carries many events, and an idle feed's first event leaves
// at once. One goroutine (RunFeeds) sends the heartbeats and closes feeds
// whose client has gone.

const (
	// feedWriteTimeout bounds one write to a client; a client that
	// cannot take it in time is dropped (it reconnects with its last id).
	feedWriteTimeout = 10 * time.Second
	// feedSweep is the longest pause between two checks for clients
	// that have gone.
	feedSweep = 5 * time.Second
	// feedCoalesce is the shortest time between two writes to a client.
	// 1,000 agents' feeds at 500 messages/s would otherwise take a
	// million small writes a second, and a write's fixed cost (system
	// calls and wake-ups at both ends) is more than its bytes': with 20
	// ms, BenchmarkFeedFanout spends nearly twice the CPU per event.
	feedCoalesce = 40 * time.Millisecond
)

// pingFrame keeps proxies from closing an idle stream.
var pingFrame = []byte(": ping\n\n")

// feedEncoding turns an event into the SSE frame a kind of feed sends (nil:
// nothing). Feeds with the same key send the same frame for an event, so it
// is encoded once per batch for all of them.
type feedEncoding struct {
	key    string
	encode func(e *inbox.Event) []byte
}

// feedWriter is a feed's connection to its client.
type feedWriter interface {
	// write sends frames, in order, as one write, before deadline.
	write(frames [][]byte, deadline time.Time) error
	// gone reports, without blocking, whether the client has closed its
	// side; false when it cannot tell.
	gone() bool
	close()
}

// RunFeeds sends the live feeds' heartbeats, closes those whose client
// has gone and, at each heartbeat, those whose credential is no longer
// valid, until ctx is done; then it closes every feed and refuses new
// ones. Run it for the server's lifetime: feeds leave net/http once they
// are streaming, so http.Server.Shutdown neither waits for nor closes them.
func (s *Server) RunFeeds(ctx context.Context) { s.feeds.run(ctx, s.recheckFeeds) }

// feedSet is the server's live feeds.
type feedSet struct {
	heartbeat    time.Duration
	writeTimeout time.Duration // feedWriteTimeout (tests change these)
	coalesce     time.Duration // feedCoalesce
	sweep        time.Duration // feedSweep
	buffer       int           // frames a feed may lag: journal.SubscriberBuffer

	mu     sync.RWMutex
	feeds  map[*feed]struct{}
	closed bool
	// kinds counts the open feeds by kind (FeedKinds), those that keep a
	// goroutine (hold) included.
	kinds map[string]int
}

// The kinds of live feeds, as the inboxd_feeds metric names them.
const (
	FeedJournal       = "journal"       // GET /api/v1/journal/events
	FeedMe            = "me"            // GET /api/v1/me/events
	FeedConversation  = "conversation"  // GET /api/v1/conversations/{id}/events
	FeedWidget        = "widget"        // GET /widget/v1/{channel}/events
	FeedNotifications = "notifications" // GET /api/v1/me/notifications/events
)

// FeedKinds are every kind of live feed.
var FeedKinds = []string{FeedJournal, FeedMe, FeedConversation, FeedWidget, FeedNotifications}

func newFeedSet(heartbeat time.Duration) *feedSet {
	return &feedSet{heartbeat: heartbeat, writeTimeout: feedWriteTimeout, coalesce: feedCoalesce,
		sweep: feedSweep, buffer: journal.SubscriberBuffer, feeds: map[*feed]struct{}{}, kinds: map[string]int{}}
}

// counts returns the open feeds by kind.
func (fs *feedSet) counts() map[string]int {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	out := make(map[string]int, len(fs.kinds))
	for k, n := range fs.kinds {
		out[k] = n
	}
	return out
}

// hold counts a feed of kind that streams from its own goroutine (the
// notifications feed) until the returned func is called.
func (fs *feedSet) hold(kind string) (release func()) {
	fs.mu.Lock()
	fs.kinds[kind]++
	fs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			fs.mu.Lock()
			fs.kinds[kind]--
			fs.mu.Unlock()
		})
	}
}

// open registers a feed; from now on it queues the events filter accepts,
// encoded by enc. It returns nil when the set is closed (shutting down).
func (fs *feedSet) open(filter func(*inbox.Event) bool, enc *feedEncoding) *feed {
	return fs.openLeased("", filter, enc, nil)
}

// openLeased is open for a feed holding lease, which it releases when it
// closes, whatever closes it.
func (fs *feedSet) openLeased(kind string, filter func(*inbox.Event) bool, enc *feedEncoding, lease *feedLease) *feed {
	f := &feed{set: fs, kind: kind, filter: filter, enc: enc, lease: lease}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return nil
	}
	fs.feeds[f] = struct{}{}
	fs.kinds[kind]++
	return f
}

func (fs *feedSet) remove(f *feed) {
	fs.mu.Lock()
	if _, ok := fs.feeds[f]; ok {
		delete(fs.feeds, f)
		fs.kinds[f.kind]--
	}
	fs.mu.Unlock()
}

// Subscribers implements journal.Sink.
func (fs *feedSet) Subscribers() int {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	return len(fs.feeds)
}

// Deliver implements journal.Sink: it queues each event on the feeds that
// accept it and starts their writers. It never blocks on a client.
func (fs *feedSet) Deliver(events []inbox.Event) {
	var frames frameCache
	var lagging []*feed
	fs.mu.RLock()
	for f := range fs.feeds {
		if !f.offer(events, &frames) {
			lagging = append(lagging, f)
		}
	}
	fs.mu.RUnlock()
	for _, f := range lagging {
		f.close()
	}
}

// run sends a heartbeat to every feed each heartbeat (after calling
// onHeartbeat, if set) and, more often, closes the feeds whose client has
// gone (a closed socket is otherwise only noticed when a write fails),
// until ctx is done. Then it closes
// every feed and refuses new ones.
func (fs *feedSet) run(ctx context.Context, onHeartbeat func(context.Context)) {
	defer fs.close()
	// Sweep every heartbeat/n, at most fs.sweep apart; ping every n-th.
	n := int((fs.heartbeat + fs.sweep - 1) / fs.sweep)
	t := time.NewTicker(fs.heartbeat / time.Duration(n))
	defer t.Stop()
	var feeds []*feed
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if tick%n == 0 && onHeartbeat != nil {
			onHeartbeat(ctx)
		}
		feeds = fs.snapshot(feeds[:0])
		for i, f := range feeds {
			if f.gone() {
				f.close()
			} else if tick%n == 0 {
				f.ping()
			}
			feeds[i] = nil
		}
	}
}

func (fs *feedSet) snapshot(into []*feed) []*feed {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	for f := range fs.feeds {
		into = append(into, f)
	}
	return into
}

// close closes every feed and refuses new ones.
func (fs *feedSet) close() {
	fs.mu.Lock()
	fs.closed = true
	feeds := make([]*feed, 0, len(fs.feeds))
	for f := range fs.feeds {
		feeds = append(feeds, f)
	}
	fs.mu.Unlock()
	for _, f := range feeds {
		f.close()
	}
}

// frameCache holds one Deliver's frames: each event encoded at most once
// per encoding.
type frameCache struct {
	keys   []string
	frames [][][]byte // per key, per event; noFrame: encodes to nothing
}

var noFrame = []byte{}

func (c *frameCache) frame(enc *feedEncoding, events []inbox.Event, i int) []byte {
	k := 0
	for k < len(c.keys) && c.keys[k] != enc.key {
		k++
	}
	if k == len(c.keys) {
		c.keys = append(c.keys, enc.key)
		c.frames = append(c.frames, make([][]byte, len(events)))
	}
	b := c.frames[k][i]
	if b == nil {
		if b = enc.encode(&events[i]); b == nil {
			b = noFrame
		}
		c.frames[k][i] = b
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

// feed is one client's live feed.
type feed struct {
	set    *feedSet
	kind   string // FeedKinds
	filter func(*inbox.Event) bool
	enc    *feedEncoding
	lease  *feedLease // the owner's slot (nil: none)

	mu sync.Mutex
	w  feedWriter // nil until started
	// last is the newest event id queued or sent: the resume point. Live
	// events at or before it were replayed already.
	last    int64
	pending [][]byte // frames waiting for the writer
	// early are the event ids of the frames queued before start (0: an
	// ephemeral event): the replay may have sent them.
	early   []int64
	wrote   time.Time // when the last write began
	writing bool      // a writer goroutine runs
	closed  bool
	done    chan struct{} // closed on close, if set by start
	writer  sync.WaitGroup
}

// offer queues the events the feed accepts; it returns false when the
// feed lags more than the set's buffer (journal.SubscriberBuffer frames)
// behind: the caller closes it, the client reconnects with its last id
// and replays.
func (f *feed) offer(events []inbox.Event, frames *frameCache) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return true
	}
	queued0 := len(f.pending)
	for i := range events {
		e := &events[i]
		if f.w != nil && e.ID != 0 && e.ID <= f.last {
			continue
		}
		if f.filter != nil && !f.filter(e) {
			continue
		}
		b := frames.frame(f.enc, events, i)
		if b == nil {
			continue
		}
		if len(f.pending) >= f.set.buffer {
			return false
		}
		f.pending = append(f.pending, b)
		if f.w == nil {
			f.early = append(f.early, e.ID)
		} else if e.ID > f.last {
			f.last = e.ID
		}
	}
	if len(f.pending) > queued0 {
		f.kick()
	}
	return true
}

// start attaches the client once the replay up to last has been written:
// queued events the replay covered are dropped, the rest are sent. done,
// if not nil, is closed when the feed closes. It returns false (and
// closes w) when the feed was closed meanwhile.
func (f *feed) start(w feedWriter, last int64, done chan struct{}) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		w.close()
		return false
	}
	f.w, f.last, f.done = w, last, done
	kept := f.pending[:0]
	for i, id := range f.early {
		if id != 0 && id <= last {
			continue
		}
		kept = append(kept, f.pending[i])
		f.last = max(f.last, id)
	}
	clear(f.pending[len(kept):])
	f.pending, f.early = kept, nil
	if len(kept) > 0 {
		f.kick()
	}
	f.mu.Unlock()
	return true
}

// kick starts the writer if frames wait and none runs. f.mu is held.
func (f *feed) kick() {
	if f.w == nil || f.writing || f.closed {
		return
	}
	f.writing = true
	f.writer.Add(1)
	go f.drain()
}

// drain writes what is queued, one write per turn, until nothing is.
func (f *feed) drain() {
	defer f.writer.Done()
	var batch [][]byte
	for {
		f.mu.Lock()
		if wait := f.set.coalesce - time.Since(f.wrote); wait > 0 && !f.closed {
			// Let what follows a recent write gather.
			f.mu.Unlock()
			time.Sleep(wait)
			f.mu.Lock()
		}
		if f.closed || len(f.pending) == 0 {
			f.writing = false
			f.pending = nil // an idle feed holds no buffer
			f.mu.Unlock()
			return
		}
		// Swap the queue for the last turn's (emptied) one.
		batch, f.pending = f.pending, batch[:0]
		w := f.w
		f.wrote = time.Now()
		f.mu.Unlock()
		err := w.write(batch, time.Now().Add(f.set.writeTimeout))
		clear(batch)
		if err != nil {
			f.close()
			return
		}
	}
}

// ping queues a heartbeat on an idle feed.
func (f *feed) ping() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.w == nil || f.writing || len(f.pending) > 0 {
		return
	}
	f.pending = append(f.pending, pingFrame)
	f.kick()
}

func (f *feed) gone() bool {
	f.mu.Lock()
	w := f.w
	f.mu.Unlock()
	return w != nil && w.gone()
}

func (f *feed) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// close ends the feed: its connection is closed (a write under way fails)
// and it leaves the set. Idempotent.
func (f *feed) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.pending = nil
	w, done := f.w, f.done
	f.mu.Unlock()
	if w != nil {
		w.close()
	}
	if done != nil {
		close(done)
	}
	f.set.remove(f)
	f.lease.release()
}
