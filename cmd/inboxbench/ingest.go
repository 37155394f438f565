package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const ingestSummary = `N concurrent senders POST signed messages to the webhook channel
(/hooks/webhook/<channel>) across M contacts (one conversation each) for the
duration. A message that gets a 5xx, 408, 429 or a transport error is retried
with the same message_id (bounded by --max-attempts). Prints acknowledged
messages/s, acknowledgement latency (first attempt to 202, retries included),
errors by status and retries; then reads the journal and every conversation's
messages through the API and exits 1 if an acknowledged message is missing or
stored twice. Every contact id and message_id carries a fresh run id, so runs
never collide.`

// Bounds keep a mistyped flag from running for hours or opening
// thousands of sockets.
const (
	maxSenders      = 2000
	maxContacts     = 10_000_000
	maxDuration     = time.Hour
	maxAttemptsCeil = 100
)

// loadFlags are what ingest and fanout share for posting messages.
type loadFlags struct {
	url, channel, secret string
	contacts             int
	maxAttempts          int
	timeout              time.Duration
}

func (l *loadFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&l.url, "url", "http://127.0.0.1:8080", "the daemon's base URL (127.0.0.1 or localhost only)")
	fs.StringVar(&l.channel, "channel", "crm", "id of a webhook channel in the daemon's config")
	fs.StringVar(&l.secret, "secret", envOr("CRM_SECRET", "quickstart-secret-change-me"), "the channel's secret (env CRM_SECRET)")
	fs.IntVar(&l.contacts, "conversations", 1000, "distinct contacts (one conversation each) the messages are spread over")
	fs.IntVar(&l.maxAttempts, "max-attempts", 10, "attempts per message before giving up (retries keep the message_id)")
	fs.DurationVar(&l.timeout, "timeout", 10*time.Second, "per-request timeout")
}

func (l *loadFlags) validate() error {
	switch {
	case l.channel == "":
		return errors.New("--channel: is required")
	case l.secret == "":
		return errors.New("--secret: is required")
	case l.contacts < 1 || l.contacts > maxContacts:
		return fmt.Errorf("--conversations: must be between 1 and %d", maxContacts)
	case l.maxAttempts < 1 || l.maxAttempts > maxAttemptsCeil:
		return fmt.Errorf("--max-attempts: must be between 1 and %d", maxAttemptsCeil)
	case l.timeout <= 0 || l.timeout > 5*time.Minute:
		return errors.New("--timeout: must be between 0 and 5m")
	}
	return nil
}

func ingestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", ingestSummary, stderr)
	var lf loadFlags
	lf.register(fs)
	var auth authFlags
	auth.register(fs)
	senders := fs.Int("senders", 16, "concurrent senders")
	duration := fs.Duration("duration", 60*time.Second, "how long to send")
	verify := fs.Bool("verify", true, "check through the API that every acknowledged message is stored exactly once")
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
	if *senders < 1 || *senders > maxSenders {
		return fmt.Errorf("--senders: must be between 1 and %d", maxSenders)
	}
	if *duration <= 0 || *duration > maxDuration {
		return fmt.Errorf("--duration: must be between 0 and %s", maxDuration)
	}
	c := newClient(base, *senders, lf.timeout)
	// Authenticate first: a wrong password should fail before the load,
	// not after a minute of it.
	if *verify {
		if err := c.authenticate(ctx, auth); err != nil {
			return err
		}
	}
	ld := newLoader(c, lf)
	fmt.Fprintf(stdout, "ingest: run %s, %s, channel %s, %d senders, %d conversations, %s\n",
		ld.run, base, lf.channel, *senders, lf.contacts, *duration)
	started := time.Now()

	sendCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := started.Add(*duration)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range *senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sendCtx.Err() == nil {
				if err := ld.send(sendCtx, next.Add(1)); err != nil {
					ld.fail(err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	if err := ld.fatalErr(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st := ld.stats()
	st.print(stdout, elapsed)
	if !*verify {
		return nil
	}
	k := &checker{c: c, channel: lf.channel, run: ld.run, since: started.Add(-time.Minute), workers: 8}
	res, err := k.check(ctx, st.acked)
	if err != nil {
		return err
	}
	res.print(stdout)
	if !res.ok() {
		return errFailed
	}
	return nil
}

// newRunID returns a short random id that keeps each run's contacts and
// message ids apart from earlier runs'.
func newRunID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loader posts messages and keeps the figures; senders share it.
type loader struct {
	c   *Client
	lf  loadFlags
	run string
	// onSend and onAck, when set, are called at a message's first
	// attempt and as soon as it is acknowledged.
	onSend, onAck func(seq int64, at time.Time)

	mu    sync.Mutex
	st    sendStats
	fatal error
}

func newLoader(c *Client, lf loadFlags) *loader {
	return &loader{c: c, lf: lf, run: newRunID(), st: sendStats{acked: map[string]int64{}, errors: map[string]int{}}}
}

// sendStats are the figures of all senders together.
type sendStats struct {
	latency    Histogram
	acked      map[string]int64 // message_id → conversation id
	errors     map[string]int   // failed attempts by status ("503", "transport")
	retries    int
	gaveUp     int // attempts exhausted: not acknowledged
	rejected   int // a 4xx that a retry cannot fix
	duplicates int // acknowledged with duplicate:true (an earlier attempt had committed)
}

func (s *sendStats) print(w io.Writer, elapsed time.Duration) {
	n := len(s.acked)
	fmt.Fprintf(w, "acknowledged %d messages in %s: %.1f messages/s\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	fmt.Fprintf(w, "ack latency (first attempt to 202, retries included): %s\n", s.latency.Summary())
	fmt.Fprintf(w, "errors: %s; retries %d; given up %d; rejected %d; duplicate answers %d\n",
		formatCounts(s.errors), s.retries, s.gaveUp, s.rejected, s.duplicates)
}

// formatCounts is "503×3, transport×1" in a stable order, or "none".
func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (l *loader) messageID(seq int64) string { return l.run + "-" + strconv.FormatInt(seq, 10) }

// send posts message seq until it is acknowledged, a 4xx says it never
// will be, or the attempts run out. It returns an error only for a
// condition that dooms the whole run (wrong secret, unknown channel).
func (l *loader) send(ctx context.Context, seq int64) error {
	m := &webhookMessage{MessageID: l.messageID(seq), Text: messageText(l.messageID(seq)), SentAt: time.Now().UTC()}
	k := seq % int64(l.lf.contacts)
	m.Contact.ID = "bench-" + l.run + "-" + strconv.FormatInt(k, 10)
	m.Contact.Name = "Bench " + l.run + " " + strconv.FormatInt(k, 10)
	start := time.Now()
	if l.onSend != nil {
		l.onSend(seq, start)
	}
	backoff := 50 * time.Millisecond
	var errs []string
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, l.lf.timeout)
		r := l.c.postSigned(rctx, l.lf.channel, l.lf.secret, m)
		cancel()
		if r.err == nil {
			at := time.Now()
			if l.onAck != nil {
				l.onAck(seq, at)
			}
			l.mu.Lock()
			l.st.latency.Record(at.Sub(start))
			l.st.acked[m.MessageID] = r.ack.ConversationID
			l.st.retries += attempt - 1
			if r.ack.Duplicate {
				l.st.duplicates++
			}
			for _, e := range errs {
				l.st.errors[e]++
			}
			l.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return nil // stopping: the message is simply not acknowledged
		}
		key := "transport"
		if r.status != 0 {
			key = strconv.Itoa(r.status)
		}
		errs = append(errs, key)
		switch {
		case r.status == http.StatusUnauthorized:
			return fmt.Errorf("the daemon refused the signature (401): is --secret the secret of channel %q? %v", l.lf.channel, r.err)
		case r.status == http.StatusNotFound:
			return fmt.Errorf("no webhook channel %q at %s (404): check --channel", l.lf.channel, l.c.base)
		case r.status != 0 && r.status/100 == 4 && r.status != http.StatusRequestTimeout && r.status != http.StatusTooManyRequests:
			// The same body would get the same answer.
			l.record(errs, attempt-1, func(s *sendStats) { s.rejected++ })
			return nil
		}
		if attempt >= l.lf.maxAttempts {
			l.record(errs, attempt-1, func(s *sendStats) { s.gaveUp++ })
			return nil
		}
		// The daemon's Retry-After (5 s) is meant for providers; a load
		// tool waiting that long would measure its own sleep, so the wait
		// is capped at 1 s.
		wait := min(max(backoff, r.retryAfter), time.Second)
		backoff = min(backoff*2, time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (l *loader) record(errs []string, retries int, f func(*sendStats)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range errs {
		l.st.errors[e]++
	}
	l.st.retries += retries
	f(&l.st)
}

func (l *loader) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal == nil {
		l.fatal = err
	}
}

func (l *loader) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}

// stats returns the figures so far (the senders must have stopped).
func (l *loader) stats() *sendStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &l.st
}
