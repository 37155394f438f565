// Package daemon wires inboxd together: config, store, service, channels,
// the HTTP server, the outbox dispatcher and the channels' pollers, with
// an ordered shutdown. Tests start it in-process on 127.0.0.1:0.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/email"
	"github.com/inboxd/inboxd/adapters/meta"
	"github.com/inboxd/inboxd/adapters/telegram"
	"github.com/inboxd/inboxd/adapters/viber"
	"github.com/inboxd/inboxd/adapters/webhook"
	"github.com/inboxd/inboxd/adapters/whatsapp"
	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/journal"
)

// Factories are the channel kinds this build knows, wired explicitly.
var Factories = map[string]adapters.Factory{
	webhook.Kind:  webhook.New,
	widget.Kind:   widget.New,
	telegram.Kind: telegram.New,
	email.Kind:    email.New,
	"messenger":   meta.NewMessenger,
	"instagram":   meta.NewInstagram,
	"whatsapp":    whatsapp.New,
	viber.Kind:    viber.New,
}

// Options tune a daemon beyond its config (tests use them).
type Options struct {
	Logger *slog.Logger
	// Notice receives one-time notices meant for the operator's eyes
	// (the bootstrap owner's generated password), default stderr.
	Notice io.Writer
	Clock  inbox.Clock
	// BcryptCost hashes the bootstrap owner's and changed passwords, and the
	// dummy hash an unknown account's login is compared with (0: default).
	BcryptCost int
	// HTTPClient for providers (default: 30 s timeout).
	HTTPClient *http.Client
	// OutboxPoll overrides the dispatcher's scan interval.
	OutboxPoll time.Duration
}

// Daemon is a running inboxd.
type Daemon struct {
	Addr     string
	Store    *store.Store
	Service  *inbox.Service
	Channels map[string]adapters.Channel
	// API is the HTTP handler (its route table drives the authorization
	// matrix test).
	API    *api.Server
	log    *slog.Logger
	srv    *http.Server
	cancel context.CancelFunc
	bg     sync.WaitGroup
	done   chan struct{}
	err    error
}

// NewLogger returns the configured slog logger on w.
func NewLogger(cfg *Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// OpenStore opens and migrates the configured database.
func OpenStore(ctx context.Context, cfg *Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Database.URL, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// BuildChannels builds every configured channel through its factory.
func BuildChannels(cfg *Config, deps adapters.Deps) (map[string]adapters.Channel, error) {
	out := map[string]adapters.Channel{}
	var errs []error
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	for i := range cfg.Channels {
		cc := &cfg.Channels[i]
		key := fmt.Sprintf("channels[%d] (%s)", i, cc.ID)
		f, ok := Factories[cc.Kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.kind: %q is not a channel kind this inboxd knows", key, cc.Kind))
			continue
		}
		// Adapters add the channel attribute to their own log lines.
		ch, err := f(adapters.Config{ID: cc.ID, Kind: cc.Kind, Name: cc.Name, Queue: cc.Queue, Decode: cc.Decode}, deps)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", key, err))
			continue
		}
		out[cc.ID] = ch
	}
	return out, errors.Join(errs...)
}

// Start opens everything and starts serving; it returns once the listener
// is bound. Stop (or cancelling ctx) shuts it down.
func Start(ctx context.Context, cfg *Config, o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = NewLogger(cfg, os.Stderr)
	}
	if o.Notice == nil {
		o.Notice = os.Stderr
	}
	if o.Clock == nil {
		o.Clock = inbox.SystemClock{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	log := o.Logger
	started := time.Now()
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	if err := bootstrapOwner(ctx, st, cfg, o); err != nil {
		return nil, err
	}

	infos := cfg.ChannelInfos()
	hub := journal.NewHub()
	lastEvent, err := st.LastEventID(ctx)
	if err != nil {
		return nil, err
	}
	pump := journal.NewPump(st, hub, lastEvent, log.With("component", "events"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := newPromObserver(reg, infos)
	var queueIDs []string
	for _, q := range cfg.Queues {
		queueIDs = append(queueIDs, q.ID)
	}
	reg.MustRegister(newBacklogCollector(st, o.Clock, log.With("component", "metrics"), infos, queueIDs))
	ing := &lateIngester{}
	chans, err := BuildChannels(cfg, adapters.Deps{Ingest: ing, Logger: log, Clock: o.Clock,
		PublicURL: strings.TrimSuffix(cfg.PublicURL, "/"), HTTPClient: o.HTTPClient, Poll: obs})
	if err != nil {
		return nil, err
	}
	senders := map[string]inbox.Sender{}
	hooks := map[string]adapters.Hook{}
	fetchers := map[string]adapters.AttachmentFetcher{}
	health := map[string]adapters.Health{}
	var runners []adapters.Runner
	for id, ch := range chans {
		if s, ok := ch.(inbox.Sender); ok {
			senders[id] = s
		}
		if h, ok := ch.(adapters.Hook); ok {
			hooks[id] = h
		}
		if f, ok := ch.(adapters.AttachmentFetcher); ok {
			fetchers[id] = f
		}
		if h, ok := ch.(adapters.Health); ok {
			health[id] = h
		}
		if r, ok := ch.(adapters.Runner); ok {
			runners = append(runners, r)
		}
	}
	var disp *inbox.Dispatcher
	svc := inbox.NewService(inbox.Options{Store: st, Clock: o.Clock, Publisher: pump, Channels: infos,
		Senders: senders, ReopenWindow: cfg.ReopenWindow, Logger: log, OutboxWake: func() { disp.Wake() },
		Observer: obs, Queues: cfg.QueueIDs()})
	ing.set(svc)
	disp = inbox.NewDispatcher(inbox.DispatcherOptions{Store: st, Service: svc, Senders: senders, Clock: o.Clock,
		Logger: log.With("component", "outbox"), MaxAttempts: cfg.Outbox.MaxAttempts, BaseDelay: cfg.Outbox.BaseDelay,
		MaxDelay: cfg.Outbox.MaxDelay, Poll: o.OutboxPoll, Observer: obs})

	// Feature wiring, each in its own file (wire_*.go).
	w := &wiring{cfg: cfg, store: st, service: svc, hub: hub, channels: chans, infos: infos, log: log, clock: o.Clock,
		senders: senders, dispatcher: disp, publisher: pump}
	w.addJob(pump.Run)
	w.addJob(func(ctx context.Context) { st.ListenEvents(ctx, log.With("component", "events"), pump.Wake) })
	wireEvents(w)
	wireExpiry(w)
	queueOpts, err := wireQueues(ctx, w)
	if err != nil {
		return nil, err
	}
	consoleOpts, err := wireConsole(ctx, w)
	if err != nil {
		return nil, err
	}
	consoleOpts.BcryptCost = o.BcryptCost // new passwords, and the unknown-account login's dummy hash
	webhookOpts, err := wireWebhooks(ctx, w, reg)
	if err != nil {
		return nil, err
	}
	linkOpts := wireLinks(w)
	accountOpts, err := wireAccounts(w)
	if err != nil {
		return nil, err
	}
	authOpts, err := wireAuth(w)
	if err != nil {
		return nil, err
	}
	privacyOpts := wirePrivacy(w, reg)

	srv := api.New(api.Options{
		Users: st, Service: svc, Journal: journal.New(st, infos), Reader: st, Hub: hub, Channels: infos,
		Hooks: hooks, Fetchers: fetchers, Health: health, Registry: reg, Ingest: obs, Logger: log, Clock: o.Clock,
		MaxBody: cfg.Limits.MaxBody, FeedsPerUser: cfg.Limits.FeedsPerUser, FeedsPerVisitor: cfg.Limits.FeedsPerVisitor,
		SecureCookies:  strings.HasPrefix(cfg.PublicURL, "https://"),
		PasswordCheck:  api.CheckPassword,
		TrustedProxies: cfg.TrustedProxyNets(),
		Ready:          map[string]func(context.Context) error{"database": st.Ping},
		Queues:         queueOpts, Console: consoleOpts, Assign: wireAssign(w), Workspace: wireWorkspace(w), Webhooks: webhookOpts,
		Contacts: api.ContactOptions{Reads: journal.NewContacts(st, infos),
			Links: inbox.NewContactLinks(st, o.Clock, pump, infos, log.With("component", "contacts"))},
		Links:    linkOpts,
		Accounts: accountOpts,
		Auth:     authOpts,
		Privacy:  privacyOpts,
	})
	mountWidget(w, srv, queueOpts)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	// Each poller's leader lock and the event listener hold a connection;
	// the feature jobs may hold one each too.
	st.Reserve(len(runners) + len(w.jobs) + 1)
	w.addJob(srv.RunFeeds) // live feeds' heartbeats (no database); closes them at shutdown
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	// Group commit: concurrent webhooks share transactions. SQLite has one
	// writer; on PostgreSQL a second committer runs its statements while
	// the first waits for its commit. More committers make smaller groups,
	// and a group costs about the same whatever its size (PERFORMANCE.md).
	committers := 1
	if st.Dialect() == store.Postgres {
		committers = 2
	}
	// A committer that found a small group waits 2 ms for the senders its
	// last commit answered: bigger groups, less CPU per message, and
	// higher throughput at a cost of at most 2 ms (PERFORMANCE.md).
	svc.StartGroupCommit(runCtx, committers, 64, 2*time.Millisecond)
	d := &Daemon{Addr: ln.Addr().String(), Store: st, Service: svc, Channels: chans, API: srv, log: log, cancel: cancel,
		done: make(chan struct{}),
		srv: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			BaseContext: func(net.Listener) context.Context { return runCtx }}}
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		disp.Run(runCtx)
	}()
	for _, job := range w.jobs {
		d.bg.Add(1)
		go func(job func(context.Context)) {
			defer d.bg.Done()
			job(runCtx)
		}(job)
	}
	for _, r := range runners {
		d.bg.Add(1)
		go func(r adapters.Runner) {
			defer d.bg.Done()
			// A poller runs on one replica only: the one holding its lock.
			st.RunAsLeader(runCtx, "channel:"+r.ID(), log, func(ctx context.Context) {
				if err := r.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("channel stopped", "channel", r.ID(), "err", err)
				}
			})
		}(r)
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
			d.err = err
			d.cancel()
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-runCtx.Done():
		}
		d.shutdown()
	}()
	ok = true
	log.Info("inboxd started", "listen", d.Addr, "database", string(st.Dialect()), "channels", len(chans),
		"startup_ms", time.Since(started).Milliseconds())
	return d, nil
}

// shutdown stops in order: HTTP (finishing requests in flight), then the
// pollers and the dispatcher, then the database.
func (d *Daemon) shutdown() {
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Live feeds left net/http once streaming (Shutdown does not wait for
	// them): they close when runCtx is cancelled below (api RunFeeds).
	d.srv.Shutdown(sctx)
	d.cancel()
	waited := make(chan struct{})
	go func() { d.bg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-sctx.Done():
		d.log.Warn("shutdown: background work did not stop in time")
	}
	d.Store.Close()
	d.log.Info("inboxd stopped")
	close(d.done)
}

// Stop shuts the daemon down and waits for it.
func (d *Daemon) Stop() {
	d.cancel()
	<-d.done
}

// Wait blocks until the daemon has stopped and returns the server error
// that stopped it, if any.
func (d *Daemon) Wait() error {
	<-d.done
	return d.err
}

// Run starts the daemon and serves until ctx is done.
func Run(ctx context.Context, cfg *Config, o Options) error {
	d, err := Start(ctx, cfg, o)
	if err != nil {
		return err
	}
	return d.Wait()
}

// lateIngester lets channels be built before the service that needs them
// as senders exists.
type lateIngester struct {
	mu  sync.RWMutex
	svc *inbox.Service
}

func (l *lateIngester) set(s *inbox.Service) { l.mu.Lock(); l.svc = s; l.mu.Unlock() }
func (l *lateIngester) get() *inbox.Service  { l.mu.RLock(); defer l.mu.RUnlock(); return l.svc }

func (l *lateIngester) Ingest(ctx context.Context, in inbox.Inbound) (inbox.IngestResult, error) {
	return l.get().Ingest(ctx, in)
}
func (l *lateIngester) IngestBatch(ctx context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	return l.get().IngestBatch(ctx, ins, c)
}
func (l *lateIngester) UpdateDelivery(ctx context.Context, ups []inbox.DeliveryUpdate) error {
	return l.get().UpdateDelivery(ctx, ups)
}
func (l *lateIngester) Cursor(ctx context.Context, ch, key string) (string, error) {
	return l.get().Cursor(ctx, ch, key)
}
func (l *lateIngester) SaveCursor(ctx context.Context, c inbox.Cursor) error {
	return l.get().SaveCursor(ctx, c)
}

// bootstrapOwner creates the first owner when there is none: from the
// config, or with a generated one-time password shown once on Notice.
func bootstrapOwner(ctx context.Context, st *store.Store, cfg *Config, o Options) error {
	n, err := st.CountUsers(ctx, inbox.RoleOwner)
	if err != nil || n > 0 {
		return err
	}
	b := cfg.BootstrapOwner
	if b.Email == "" {
		b.Email = "owner@inboxd.local"
	}
	generated := b.Password == ""
	if generated {
		raw := make([]byte, 12)
		rand.Read(raw)
		b.Password = base64.RawURLEncoding.EncodeToString(raw)
	}
	hash, err := api.HashPassword(b.Password, o.BcryptCost)
	if err != nil {
		return fmt.Errorf("bootstrap_owner.%w", err)
	}
	u := &inbox.User{Email: strings.ToLower(b.Email), Name: b.Name, Role: inbox.RoleOwner, CreatedAt: o.Clock.Now()}
	if err := st.CreateUser(ctx, u, hash); err != nil {
		return fmt.Errorf("bootstrap owner: %w", err)
	}
	o.Logger.Info("bootstrap owner created", "email", u.Email, "generated_password", generated)
	if generated {
		fmt.Fprintf(o.Notice, "\n  inboxd: created the owner account %s with the one-time password:\n\n      %s\n\n  Log in and change it. It is not shown again.\n\n", u.Email, b.Password)
	}
	return nil
}
