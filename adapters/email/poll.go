package email

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Poller tuning. IDLE is re-issued every minute, well before the 29
// minutes after which RFC 2177 lets a server drop an idle client, and
// often enough that each re-issue's check of the mailbox (one UID FETCH)
// proves the session alive: the last success an operator watches then
// moves at least once a minute on a quiet mailbox, and a connection that
// died silently is noticed within a minute.
const (
	defaultIdleRestart = time.Minute
	defaultBatchSize   = 20
	// batchBytes bounds the raw bytes held in memory for one batch.
	batchBytes = 32 << 20
	// maxMessageBytes: bigger mails are imported by their header only,
	// with a note; inbox.MaxAttachmentBytes could not hold them anyway.
	maxMessageBytes = 40 << 20
	// maxHeaderBytes bounds the header fetched of a mail over
	// maxMessageBytes.
	maxHeaderBytes = 1 << 20
	backoffMin     = time.Second
	backoffMax     = 5 * time.Minute
)

// poller fetches one mailbox exactly once: the cursor
// "<uidvalidity>:<last uid>" is saved with the messages it covers in one
// IngestBatch, so a crash before the commit refetches the batch and a
// crash after it does not; a changed UIDVALIDITY refetches everything and
// the Message-ID (the external id) absorbs the repeats.
type poller struct {
	channelID string
	cfg       IMAPConfig
	opts      ParseOptions
	ingest    inbox.Ingester
	log       *slog.Logger
	key       string
	clock     inbox.Clock
	// observe is told of each fetch whose mail was committed (metrics).
	observe adapters.PollObserver

	batchSize   int
	maxMessage  int64 // bigger mails are stored by their header only
	idleRestart time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration

	mu      sync.Mutex
	lastErr error
	// idled records that a session waited in IDLE (tests check the mode).
	idled atomic.Bool
}

func newPoller(channelID string, cfg Config, ing inbox.Ingester, log *slog.Logger) *poller {
	return &poller{
		clock:       inbox.SystemClock{},
		observe:     adapters.PollObserverOf(nil),
		channelID:   channelID,
		cfg:         cfg.IMAP,
		opts:        ParseOptions{Address: cfg.Address, ReplyDomain: cfg.ReplyDomain},
		ingest:      ing,
		log:         log,
		key:         "imap:" + cfg.IMAP.Mailbox,
		batchSize:   defaultBatchSize,
		maxMessage:  maxMessageBytes,
		idleRestart: defaultIdleRestart,
		backoffMin:  backoffMin,
		backoffMax:  backoffMax,
	}
}

func (p *poller) health() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *poller) sawIdle() bool { return p.idled.Load() }

func (p *poller) setHealth(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// run keeps a session open until ctx is done, reconnecting with backoff.
func (p *poller) run(ctx context.Context) error {
	wait := p.backoffMin
	for {
		selected, err := p.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if selected {
			wait = p.backoffMin
		}
		p.setHealth(err)
		p.log.Warn("imap session ended", "err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(wait*2, p.backoffMax)
	}
}

// session connects, selects the mailbox and fetches until an error or
// ctx ends it. selected reports whether it got as far as the mailbox.
func (p *poller) session(ctx context.Context) (selected bool, err error) {
	newMail := make(chan struct{}, 1)
	c, dead, err := p.dial(ctx, newMail)
	if err != nil {
		return false, err
	}
	defer c.Close()
	// Closing the connection is what unblocks a command waiting on the
	// network when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	if err := c.Login(p.cfg.Username, p.cfg.Password).Wait(); err != nil {
		return false, fmt.Errorf("imap login as %s: %w", p.cfg.Username, err)
	}
	// Read-only: inboxd never changes the mailbox (BODY.PEEK keeps \Seen
	// as it was for the humans who read the same mailbox).
	sel, err := c.Select(p.cfg.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return false, fmt.Errorf("imap select %s: %w", p.cfg.Mailbox, err)
	}
	p.setHealth(nil)
	idle := c.Caps().Has(imap.CapIdle)
	p.log.Info("imap mailbox selected", "mailbox", p.cfg.Mailbox, "uidvalidity", sel.UIDValidity,
		"messages", sel.NumMessages, "idle", idle)
	for {
		if err := p.fetchNew(ctx, c, sel.UIDValidity); err != nil {
			return true, err
		}
		if idle {
			err = p.idle(ctx, c, newMail, dead)
		} else {
			err = p.sleep(ctx, c, dead)
		}
		if err != nil {
			return true, err
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
	}
}

// idle waits in IDLE for new mail, ctx, or the restart interval.
func (p *poller) idle(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}, dead <-chan struct{}) error {
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	p.idled.Store(true)
	t := time.NewTimer(p.idleRestart)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-newMail:
	case <-t.C:
	case <-dead:
		return errors.New("imap connection closed during idle")
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	return nil
}

// sleep waits for the poll interval, then pings the server so that it
// reports new messages.
func (p *poller) sleep(ctx context.Context, c *imapclient.Client, dead <-chan struct{}) error {
	t := time.NewTimer(p.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-dead:
		return errors.New("imap connection closed")
	case <-t.C:
	}
	if err := c.Noop().Wait(); err != nil {
		return fmt.Errorf("imap noop: %w", err)
	}
	return nil
}

// newUID is a message found above the cursor.
type newUID struct {
	uid  imap.UID
	size int64
	// date is its INTERNALDATE: when the server received it.
	date time.Time
}

// fetchNew ingests every message above the cursor, batch by batch.
func (p *poller) fetchNew(ctx context.Context, c *imapclient.Client, validity uint32) error {
	cur, err := p.ingest.Cursor(ctx, p.channelID, p.key)
	if err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	last := imap.UID(0)
	if cur != "" {
		v, l, ok := parseCursor(cur)
		switch {
		case !ok:
			p.log.Warn("imap cursor unreadable, refetching the mailbox", "cursor", cur)
		case v != validity:
			p.log.Info("imap uidvalidity changed, refetching the mailbox", "old", v, "new", validity)
		default:
			last = l
		}
	}
	var set imap.UIDSet
	set.AddRange(last+1, 0) // last+1:*
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil {
		return fmt.Errorf("imap list new messages: %w", err)
	}
	var uids []newUID
	for _, b := range bufs {
		// "n:*" names the last message even when its UID is below n.
		if b.UID > last {
			uids = append(uids, newUID{b.UID, b.RFC822Size, b.InternalDate})
		}
	}
	slices.SortFunc(uids, func(a, b newUID) int { return cmp.Compare(a.uid, b.uid) })
	if len(uids) == 0 {
		if want := formatCursor(validity, last); cur != want {
			if err := p.ingest.SaveCursor(ctx, inbox.Cursor{ChannelID: p.channelID, Key: p.key, Value: want}); err != nil {
				return err
			}
		}
		// Caught up: nothing waits upstream.
		p.observe.Polled(p.channelID, p.clock.Now(), 0)
		return nil
	}
	for len(uids) > 0 {
		n, size := 0, int64(0)
		for n < len(uids) && n < p.batchSize && (n == 0 || size+min(uids[n].size, p.maxMessage) <= batchBytes) {
			size += min(uids[n].size, p.maxMessage)
			n++
		}
		if err := p.fetchBatch(ctx, c, validity, uids[:n]); err != nil {
			return err
		}
		uids = uids[n:]
	}
	return nil
}

// fetchBatch fetches, parses and ingests one batch with the cursor at its
// last UID.
func (p *poller) fetchBatch(ctx context.Context, c *imapclient.Client, validity uint32, batch []newUID) error {
	lag := batchLag(batch, p.clock.Now())
	// Partial fetches bound what the server may send whatever size it
	// listed: one byte over maxMessage tells a mail that grew too big.
	whole := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Size: p.maxMessage + 1}}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true,
		Partial: &imap.SectionPartial{Size: maxHeaderBytes}}
	var small, big imap.UIDSet
	for _, u := range batch {
		if u.size > p.maxMessage {
			big.AddNum(u.uid)
		} else {
			small.AddNum(u.uid)
		}
	}
	raws := map[imap.UID][]byte{}
	tooBig := map[imap.UID]int64{}
	if len(small) > 0 {
		bufs, err := c.Fetch(small, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
		if err != nil {
			return fmt.Errorf("imap fetch: %w", err)
		}
		for _, b := range bufs {
			raw := b.FindBodySection(whole)
			if int64(len(raw)) > p.maxMessage {
				hdr, _ := splitMessage(raw)
				raw, tooBig[b.UID] = hdr, int64(len(raw))
			}
			raws[b.UID] = raw
		}
	}
	if len(big) > 0 {
		bufs, err := c.Fetch(big, &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{header}}).Collect()
		if err != nil {
			return fmt.Errorf("imap fetch headers: %w", err)
		}
		for _, b := range bufs {
			raws[b.UID] = b.FindBodySection(header)
			tooBig[b.UID] = b.RFC822Size
		}
	}
	var (
		ins     []inbox.Inbound
		insUIDs []imap.UID
		bounces []inbox.DeliveryUpdate
	)
	for _, u := range batch {
		raw, ok := raws[u.uid]
		if !ok || len(raw) == 0 {
			// Expunged since it was listed (or the server sent nothing,
			// which would make every such mail the same made-up id).
			p.log.Warn("imap message vanished before it was fetched", "uid", u.uid)
			continue
		}
		parsed := Parse(p.channelID, raw, p.opts)
		if parsed.Limit != "" {
			p.log.Warn("imap mail over a parse limit, stored as a notice", "uid", u.uid, "limit", parsed.Limit)
		}
		in := parsed.Inbound
		if size, ok := tooBig[u.uid]; ok {
			in.Text = fmt.Sprintf("(This mail is %d bytes, more than inboxd imports; only its header was stored.)", size)
			if in.Meta == nil {
				in.Meta = map[string]string{}
			}
			addNote(in.Meta, "message too large")
		}
		if in.Meta == nil {
			in.Meta = map[string]string{}
		}
		in.Meta["imap_uid"] = strconv.FormatUint(uint64(u.uid), 10)
		ins = append(ins, in)
		insUIDs = append(insUIDs, u.uid)
		if parsed.Bounce != nil {
			bounces = append(bounces, *parsed.Bounce)
		}
	}
	// Delivery reports first: marking a reply failed twice is harmless,
	// missing it because the batch committed first is not.
	if len(bounces) > 0 {
		if err := p.ingest.UpdateDelivery(ctx, bounces); err != nil {
			return fmt.Errorf("record bounces: %w", err)
		}
	}
	cursor := &inbox.Cursor{ChannelID: p.channelID, Key: p.key, Value: formatCursor(validity, batch[len(batch)-1].uid)}
	_, err := p.ingest.IngestBatch(ctx, ins, cursor)
	if err != nil && inbox.ErrorCode(err) == inbox.EInvalid {
		if err := p.ingestOneByOne(ctx, validity, ins, insUIDs, cursor); err != nil {
			return err
		}
		p.observe.Polled(p.channelID, p.clock.Now(), lag)
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	p.log.Debug("imap batch ingested", "messages", len(ins), "cursor", cursor.Value)
	p.observe.Polled(p.channelID, p.clock.Now(), lag)
	return nil
}

// batchLag is how far behind the mailbox the poller was when it fetched a
// batch: the age, at the fetch, of the batch's oldest mail by INTERNALDATE
// (when the server received it).
func batchLag(batch []newUID, fetched time.Time) time.Duration {
	var lag time.Duration
	for _, u := range batch {
		if !u.date.IsZero() {
			lag = max(lag, fetched.Sub(u.date))
		}
	}
	return lag
}

// ingestOneByOne stores a batch the store refused message by message, so
// that one mail it cannot take is replaced by a note instead of blocking
// the mailbox.
func (p *poller) ingestOneByOne(ctx context.Context, validity uint32, ins []inbox.Inbound, uids []imap.UID, final *inbox.Cursor) error {
	for i, in := range ins {
		cur := &inbox.Cursor{ChannelID: p.channelID, Key: p.key, Value: formatCursor(validity, uids[i])}
		_, err := p.ingest.IngestBatch(ctx, []inbox.Inbound{in}, cur)
		if err != nil && inbox.ErrorCode(err) == inbox.EInvalid {
			p.log.Error("imap message refused, storing a placeholder", "uid", uids[i], "err", err)
			_, err = p.ingest.IngestBatch(ctx, []inbox.Inbound{placeholder(in, err)}, cur)
		}
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	return p.ingest.SaveCursor(ctx, *final)
}

// placeholder is a minimal inbound standing for a message the store
// refused; the raw mail stays attached when it fits.
func placeholder(in inbox.Inbound, cause error) inbox.Inbound {
	ph := inbox.Inbound{
		ChannelID:  in.ChannelID,
		ExternalID: in.ExternalID,
		Contact:    inbox.ContactInfo{ExternalID: in.Contact.ExternalID, Email: in.Contact.Email, Name: in.Contact.Name},
		Subject:    in.Subject,
		Title:      in.Title,
		Auto:       in.Auto,
		SentAt:     in.SentAt,
		Text:       "(inboxd could not store this mail: " + inbox.ErrorMessage(cause) + ")",
		Meta:       map[string]string{MetaParseError: truncate(cause.Error(), 300)},
	}
	for _, a := range in.Attachments {
		if a.Name == OriginalName && int64(len(a.Data)) <= inbox.MaxAttachmentBytes {
			ph.Attachments = []inbox.Attachment{a}
		}
	}
	if ph.Validate() != nil {
		ph.Contact = inbox.ContactInfo{ExternalID: "unknown-sender@inboxd.invalid", Name: "Unknown sender"}
		ph.Title, ph.Subject = "", ""
	}
	return ph
}

func formatCursor(validity uint32, last imap.UID) string {
	return fmt.Sprintf("%d:%d", validity, last)
}

func parseCursor(s string) (validity uint32, last imap.UID, ok bool) {
	v, l, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	vv, err1 := strconv.ParseUint(v, 10, 32)
	ll, err2 := strconv.ParseUint(l, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(vv), imap.UID(ll), true
}

// dial connects in the configured TLS mode. dead is closed when the
// connection fails, which is how an idle session learns that the server
// went away.
func (p *poller) dial(ctx context.Context, newMail chan<- struct{}) (*imapclient.Client, <-chan struct{}, error) {
	addr := net.JoinHostPort(p.cfg.Host, strconv.Itoa(p.cfg.Port))
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: time.Minute}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("imap connect %s: %w", addr, err)
	}
	wc := &watchedConn{Conn: raw, dead: make(chan struct{})}
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: p.cfg.Host, MinVersion: tls.VersionTLS12},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	switch p.cfg.TLS {
	case TLSImplicit:
		c = imapclient.New(tls.Client(wc, opts.TLSConfig), opts)
	case TLSStartTLS:
		if c, err = imapclient.NewStartTLS(wc, opts); err != nil {
			return nil, nil, fmt.Errorf("imap starttls %s: %w", addr, err)
		}
	default:
		c = imapclient.New(wc, opts)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if err := c.WaitGreeting(); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("imap greeting from %s: %w", addr, err)
	}
	return c, wc.dead, nil
}

// watchedConn closes dead on the first read error.
type watchedConn struct {
	net.Conn
	once sync.Once
	dead chan struct{}
}

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(func() { close(c.dead) })
	}
	return n, err
}
