package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const fanoutSummary = `Opens K SSE subscribers on GET /api/v1/journal/events (Authorization:
Bearer), waits until all are connected, then ingests signed webhook messages
at a fixed rate for the duration. For every acknowledged message it measures,
at every subscriber, the delay from the 202 acknowledgement to the arrival of
its message.created event (an event that arrives before the sender has seen
the 202 counts as 0), and checks that no subscriber missed any acknowledged
message (waiting up to --grace after the load). A subscriber that is
disconnected reconnects with Last-Event-ID and the reconnect is reported.
Raises the open-file limit as needed. Exits 1 when an event was missed.`

// Bounds of a fanout run.
const (
	maxSubscribers = 20_000
	maxRate        = 100_000
	maxPlanned     = 10_000_000
)

// parseRate reads "500/s", "500" or "30000/m" as messages per second.
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("--rate: %q is not a positive rate like 500/s", s)
	}
	switch unit {
	case "", "s":
	case "m", "min":
		v /= 60
	default:
		return 0, fmt.Errorf("--rate: unit %q: use /s or /m", unit)
	}
	if v > maxRate {
		return 0, fmt.Errorf("--rate: at most %d/s", maxRate)
	}
	return v, nil
}

func fanoutCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fanout", fanoutSummary, stderr)
	var lf loadFlags
	lf.register(fs)
	var auth authFlags
	auth.register(fs)
	subscribers := fs.Int("subscribers", 100, "SSE subscribers on the journal feed")
	rateFlag := fs.String("rate", "100/s", "ingest rate while the subscribers listen (e.g. 500/s)")
	duration := fs.Duration("duration", 30*time.Second, "how long to ingest")
	senders := fs.Int("senders", 32, "concurrent senders that keep the rate")
	grace := fs.Duration("grace", 10*time.Second, "how long to wait after the load for the last events")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := checkBaseURL(lf.url)
	if err != nil {
		return err
	}
	if err := lf.validate(); err != nil {
		return err
	}
	rate, err := parseRate(*rateFlag)
	if err != nil {
		return err
	}
	switch {
	case *subscribers < 1 || *subscribers > maxSubscribers:
		return fmt.Errorf("--subscribers: must be between 1 and %d", maxSubscribers)
	case *senders < 1 || *senders > maxSenders:
		return fmt.Errorf("--senders: must be between 1 and %d", maxSenders)
	case *duration <= 0 || *duration > maxDuration:
		return fmt.Errorf("--duration: must be between 0 and %s", maxDuration)
	case *grace < 0 || *grace > 10*time.Minute:
		return errors.New("--grace: must be between 0 and 10m")
	}
	planned := int(math.Ceil(rate * duration.Seconds()))
	if planned > maxPlanned {
		return fmt.Errorf("--rate × --duration: %d messages, at most %d", planned, maxPlanned)
	}
	note, err := raiseOpenFiles(uint64(*subscribers + *senders + 64))
	if err != nil {
		return err
	}
	c := newClient(base, *senders, lf.timeout)
	if err := c.authenticate(ctx, auth); err != nil {
		return err
	}
	// The feed must not time out: it lives as long as the run.
	sseClient := newClient(base, 0, 0)
	sseClient.token = c.token

	ld := newLoader(c, lf)
	fmt.Fprintf(stdout, "fanout: run %s, %s, %d subscribers, %.0f messages/s for %s on channel %s, %d senders\n%s\n",
		ld.run, base, *subscribers, rate, *duration, lf.channel, *senders, note)

	f := &fanout{run: ld.run, base: time.Now(), ackAt: make([]atomic.Int64, planned+1), sentAt: make([]atomic.Int64, planned+1)}
	stamp := func(times []atomic.Int64) func(int64, time.Time) {
		return func(seq int64, at time.Time) {
			if seq >= 0 && seq < int64(len(times)) {
				times[seq].Store(int64(at.Sub(f.base)) + 1) // +1: zero means "not yet"
			}
		}
	}
	ld.onSend, ld.onAck = stamp(f.sentAt), stamp(f.ackAt)
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	subs := make([]*subscriber, *subscribers)
	var subWG sync.WaitGroup
	ready := make(chan error, *subscribers)
	// Connect in waves: a thousand simultaneous handshakes would fill the
	// listen backlog and measure that instead.
	gate := make(chan struct{}, 50)
	for i := range subs {
		s := &subscriber{f: f, seen: make([]atomic.Uint64, planned/64+1)}
		subs[i] = s
		subWG.Add(1)
		go func() {
			defer subWG.Done()
			s.run(subCtx, sseClient, gate, ready)
		}()
	}
	connectStart := time.Now()
	for range subs {
		select {
		case err := <-ready:
			if err != nil {
				stopSubs()
				subWG.Wait()
				return err
			}
		case <-time.After(2 * time.Minute):
			stopSubs()
			subWG.Wait()
			return errors.New("subscribers did not all connect within 2 minutes")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(stdout, "%d subscribers connected in %s\n", len(subs), time.Since(connectStart).Round(time.Millisecond))

	// Ingest at a fixed rate: the producer releases message i at
	// start + i/rate; senders pick them up. If the senders cannot keep
	// up, the achieved rate (printed) falls below the asked one.
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	jobs := make(chan int64, *senders)
	var wg sync.WaitGroup
	for range *senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				if err := ld.send(sendCtx, seq); err != nil {
					ld.fail(err)
					stopSend()
				}
			}
		}()
	}
	start := time.Now()
produce:
	for i := 1; i <= planned; i++ {
		at := start.Add(time.Duration(float64(i-1) / rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			select {
			case <-sendCtx.Done():
				break produce
			case <-time.After(d):
			}
		}
		select {
		case jobs <- int64(i):
		case <-sendCtx.Done():
			break produce
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if err := ld.fatalErr(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st := ld.stats()
	acked := make([]int64, 0, len(st.acked))
	for id := range st.acked {
		n, _ := strconv.ParseInt(strings.TrimPrefix(id, ld.run+"-"), 10, 64)
		acked = append(acked, n)
	}

	// Wait for the stragglers, then stop listening.
	waitUntil := time.Now().Add(*grace)
	for time.Now().Before(waitUntil) && totalMisses(subs, acked) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	stopSubs()
	subWG.Wait()

	st.print(stdout, elapsed)
	var delay, fromPost Histogram
	var events, dups, early, reconnects int64
	missing, missingSubs := 0, 0
	for _, s := range subs {
		delay.Merge(&s.delay)
		fromPost.Merge(&s.fromPost)
		events += s.events.Load()
		dups += s.dups.Load()
		early += s.early.Load()
		reconnects += s.reconnects.Load()
		if m := s.misses(acked); m > 0 {
			missing += m
			missingSubs++
		}
	}
	fmt.Fprintf(stdout, "delivery delay (202 to event at a subscriber; before the 202 counts 0): %s\n", delay.Summary())
	fmt.Fprintf(stdout, "post to event (first attempt sent to event at a subscriber): %s\n", fromPost.Summary())
	fmt.Fprintf(stdout, "events received %d (expected %d = %d acknowledged × %d subscribers); arrived before the 202 %d; repeated %d; reconnects %d\n",
		events, int64(len(acked))*int64(len(subs)), len(acked), len(subs), early, dups, reconnects)
	if missing > 0 {
		some, all := missedMessages(subs, acked)
		fmt.Fprintf(stdout, "MISSED: %d (message, subscriber) pairs at %d of %d subscribers; %d messages missed by some subscriber, %d by every one\n",
			missing, missingSubs, len(subs), some, all)
		return errFailed
	}
	fmt.Fprintln(stdout, "no event missed: every subscriber received every acknowledged message")
	return nil
}

// fanout is what the subscribers share.
type fanout struct {
	run  string
	base time.Time
	// ackAt[seq] is when message seq was acknowledged and sentAt[seq]
	// when its first attempt left, in ns since base plus one (zero: not
	// yet).
	ackAt, sentAt []atomic.Int64
}

// subscriber is one SSE connection (and its reconnections).
type subscriber struct {
	f                               *fanout
	seen                            []atomic.Uint64 // bit per seq
	delay, fromPost                 Histogram       // owned by the run goroutine
	events, dups, early, reconnects atomic.Int64
}

// run connects (through gate), reports readiness once, then reads the
// feed until ctx ends, reconnecting with Last-Event-ID when dropped.
func (s *subscriber) run(ctx context.Context, c *Client, gate chan struct{}, ready chan<- error) {
	lastID := ""
	signalled := false
	failures := 0
	for ctx.Err() == nil {
		if !signalled {
			gate <- struct{}{}
		}
		body, err := c.subscribe(ctx, "/api/v1/journal/events", lastID)
		if !signalled {
			<-gate
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			if !signalled && failures >= 5 {
				ready <- fmt.Errorf("subscribe: %w", err)
				return
			}
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		failures = 0
		if !signalled {
			ready <- nil
			signalled = true
		} else {
			s.reconnects.Add(1)
		}
		readSSE(body, func(ev sseEvent) error {
			lastID = ev.ID
			s.handle(ev)
			return nil
		})
		body.Close()
	}
	if !signalled {
		ready <- ctx.Err()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle records a message.created event of this run.
func (s *subscriber) handle(ev sseEvent) {
	if ev.Event != "message.created" {
		return
	}
	arrived := time.Now()
	seq, ok := eventSeq(ev.Data, s.f.run)
	if !ok || seq <= 0 || seq >= int64(len(s.f.ackAt)) {
		return
	}
	s.events.Add(1)
	w, bit := &s.seen[seq/64], uint64(1)<<(seq%64)
	if w.Or(bit)&bit != 0 {
		s.dups.Add(1)
		return
	}
	if p := s.f.sentAt[seq].Load(); p != 0 {
		s.fromPost.Record(arrived.Sub(s.f.base) - time.Duration(p-1))
	}
	if a := s.f.ackAt[seq].Load(); a != 0 {
		s.delay.Record(arrived.Sub(s.f.base) - time.Duration(a-1))
	} else {
		// The event beat the 202 to this process: zero delay.
		s.early.Add(1)
		s.delay.Record(0)
	}
}

// eventSeq finds the run's message number in an event's JSON without
// decoding it: a thousand subscribers decoding every event would measure
// the tool. The text is "inboxbench message <run>-<n>" (hex and digits,
// which JSON never escapes).
func eventSeq(data, run string) (int64, bool) {
	needle := `"text":"` + textPrefix + run + "-"
	i := strings.Index(data, needle)
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(needle):]
	end := strings.IndexByte(rest, '"')
	if end <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(rest[:end], 10, 64)
	return n, err == nil
}

// misses counts acknowledged messages s has not seen.
func (s *subscriber) misses(acked []int64) int {
	n := 0
	for _, seq := range acked {
		if seq < 0 || seq/64 >= int64(len(s.seen)) || s.seen[seq/64].Load()&(1<<(seq%64)) == 0 {
			n++
		}
	}
	return n
}

// missedMessages counts acknowledged messages that some subscriber, and
// that every subscriber, did not receive: a message lost by everyone was
// never published to the feed; one lost by some was dropped per
// connection.
func missedMessages(subs []*subscriber, acked []int64) (some, all int) {
	for _, seq := range acked {
		n := 0
		for _, s := range subs {
			if s.misses([]int64{seq}) > 0 {
				n++
			}
		}
		if n > 0 {
			some++
		}
		if n == len(subs) {
			all++
		}
	}
	return some, all
}

func totalMisses(subs []*subscriber, acked []int64) int {
	n := 0
	for _, s := range subs {
		n += s.misses(acked)
	}
	return n
}
