// Package api is inboxd's HTTP surface on echo: authentication (session
// cookies for the console, bearer tokens for scripts), one route table
// with a permission on every route, the JSON API, live feeds over SSE,
// provider webhooks, the routes a channel adapter serves its own clients
// with (the widget's, mounted: mount.go), health and metrics. Domain errors are mapped to HTTP
// in one place (errors.go).
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// Users is the account storage the API needs.
type Users interface {
	Credentials(ctx context.Context, email string) (*inbox.User, string, error)
	User(ctx context.Context, id int64) (*inbox.User, error)
	CreateToken(ctx context.Context, userID int64, hash, kind, name string, now, expires time.Time) error
	UserByToken(ctx context.Context, hash string, now time.Time) (*inbox.User, string, error)
	DeleteToken(ctx context.Context, hash string) error
	// LiveTokens returns which of the hashes are of live (stored, not
	// expired) tokens.
	LiveTokens(ctx context.Context, hashes []string, now time.Time) (map[string]bool, error)
	SetPresence(ctx context.Context, userID int64, p inbox.Presence) error
}

// Service is the write side the API drives.
type Service interface {
	Reply(ctx context.Context, actor *inbox.User, conversationID int64, text string) (*inbox.Message, error)
	Act(ctx context.Context, actor *inbox.User, conversationID int64, a inbox.Action) (*inbox.Conversation, error)
	RetryFailed(ctx context.Context, actor *inbox.User, messageID int64) (*inbox.Message, error)
	Summary(c *inbox.Conversation) inbox.ConversationSummary
}

// ChannelStatus is a configured channel with its health.
type ChannelStatus struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Queue   string `json:"queue"`
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// Options wires a Server.
type Options struct {
	Users    Users
	Service  Service
	Journal  *journal.Journal
	Reader   journal.Reader
	Hub      *journal.Hub
	Channels []inbox.ChannelInfo
	// Hooks are the channels that take provider webhooks, by channel id.
	Hooks map[string]adapters.Hook
	// Fetchers serve attachments that stay at the provider, by channel id.
	Fetchers map[string]adapters.AttachmentFetcher
	// Health reports per-channel errors (nil: healthy).
	Health map[string]adapters.Health
	// Ready are the checks of /readyz (the database, ...).
	Ready    map[string]func(ctx context.Context) error
	Registry *prometheus.Registry
	// Ingest is told of the messages the webhook routes refuse (default:
	// nobody).
	Ingest inbox.IngestObserver
	Logger *slog.Logger
	Clock  inbox.Clock
	// MaxBody bounds every request body (413 beyond).
	MaxBody int64
	// SecureCookies sets the Secure flag (public_url is https).
	SecureCookies bool
	// PasswordCheck compares a password with a stored hash.
	PasswordCheck func(hash, password string) bool
	// Heartbeat is the SSE keep-alive interval (default 25s); the live
	// feeds' credentials are re-checked at each.
	Heartbeat time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (none: the connection's address is the client's).
	TrustedProxies []*net.IPNet
	// FeedsPerUser and FeedsPerVisitor cap the concurrent live feeds of a
	// staff user, and of a widget visitor (or an anonymous widget page's
	// address); 429 beyond. Defaults: DefaultFeedsPerUser and
	// DefaultFeedsPerVisitor.
	FeedsPerUser, FeedsPerVisitor int

	// Per-feature options, each defined next to its routes.
	// Webhooks: the outgoing event webhooks (routes_webhooks.go).
	Webhooks  WebhookOptions
	Queues    QueueOptions
	Console   ConsoleOptions
	Assign    AssignOptions
	Workspace WorkspaceOptions
	Contacts  ContactOptions
	Links     LinkOptions
	Accounts  AccountOptions
	Auth      AuthOptions
	Privacy   PrivacyOptions
}

// Server is the HTTP server's handler.
type Server struct {
	o        Options
	e        *echo.Echo
	channels map[string]inbox.ChannelInfo
	routes   []Route
	metrics  *metrics
	logins   *loginGuard
	// passwords throttles wrong current passwords per user (password changes).
	passwords *throttle
	dummyHash string
	feeds     *feedSet
	owners    *feedOwners
	// oidc is the single sign-on provider (nil: none); ssoStarts bounds
	// the sign-ins an address starts (oidc.go).
	oidc      *oidcClient
	ssoStarts *throttle
}

//go:embed openapi.yaml
var openAPI []byte

// New builds the server and its route table.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = inbox.SystemClock{}
	}
	if o.MaxBody == 0 {
		o.MaxBody = 1 << 20
	}
	if o.PasswordCheck == nil {
		o.PasswordCheck = CheckPassword
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 25 * time.Second
	}
	if o.FeedsPerUser <= 0 {
		o.FeedsPerUser = DefaultFeedsPerUser
	}
	if o.FeedsPerVisitor <= 0 {
		o.FeedsPerVisitor = DefaultFeedsPerVisitor
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Ingest == nil {
		o.Ingest = inbox.NopObserver{}
	}
	s := &Server{o: o, e: echo.New(), channels: map[string]inbox.ChannelInfo{},
		logins: newLoginGuard(),
		// 5 free failures per user in 15 minutes, then 1 s, 2 s, 4 s ... up to 15 min.
		passwords: newThrottle(5, time.Second, 15*time.Minute, 15*time.Minute),
		dummyHash: newDummyHash(o.Console.BcryptCost)}
	for _, c := range o.Channels {
		s.channels[c.ID] = c
	}
	s.initAuth()
	s.feeds = newFeedSet(o.Heartbeat)
	s.owners = newFeedOwners()
	o.Hub.Attach(s.feeds)
	s.metrics = newMetrics(o.Registry, func() float64 { return float64(o.Hub.Subscribers()) }, s.feeds.counts)
	e := s.e
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIP(o.TrustedProxies) // c.RealIP() everywhere (clientip.go)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.serverTiming) // Server-Timing: app;dur=<ms> (timing.go)
	e.Use(s.requestIDs)
	e.Use(s.accessLog)
	e.Use(s.recoverPanic)
	e.Use(s.securityHeaders)
	e.Use(s.limitBody)
	e.Use(s.refuseNUL) // NUL in a path or query: 400 before any handler
	s.routes = s.routeTable()
	for _, r := range s.routes {
		e.Add(r.Method, r.Path, s.guard(r))
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Routes returns the route table (for the authorization matrix test and
// the docs).
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Access is who may call a route.
type Access string

// Access levels.
const (
	// Public routes need no login (health, login, provider webhooks, which
	// authenticate by signature).
	Public Access = "public"
	// Member routes need any logged-in user; object rules apply inside.
	Member Access = "member"
	// Admin routes need an owner or admin.
	Admin Access = "admin"
)

// Route is one entry of the route table.
type Route struct {
	Method string
	Path   string
	Access Access
	h      echo.HandlerFunc
}

// routeTable is every route inboxd serves, with its permission. Each
// feature keeps its routes in its own file (routes_*.go); channels that
// serve their own clients (the widget) add theirs with Mount.
func (s *Server) routeTable() []Route {
	var rs []Route
	rs = append(rs, s.coreRoutes()...)
	rs = append(rs, s.queueRoutes()...)
	rs = append(rs, s.typingRoutes()...)
	rs = append(rs, s.consoleRoutes()...)
	rs = append(rs, s.webhookRoutes()...)
	rs = append(rs, s.assignRoutes()...)
	rs = append(rs, s.workspaceRoutes()...)
	rs = append(rs, s.contactRoutes()...)
	rs = append(rs, s.linkRoutes()...)
	rs = append(rs, s.accountRoutes()...)
	rs = append(rs, s.auditRoutes()...)
	rs = append(rs, s.twoFactorRoutes()...)
	rs = append(rs, s.oidcRoutes()...)
	rs = append(rs, s.privacyRoutes()...)
	return rs
}

// coreRoutes are the journal, conversations, auth, hooks and operations.
func (s *Server) coreRoutes() []Route {
	return []Route{
		{http.MethodGet, "/healthz", Public, s.healthz},
		{http.MethodGet, "/readyz", Public, s.readyz},
		{http.MethodGet, "/metrics", Public, echo.WrapHandler(promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{}))},
		{http.MethodGet, "/api/openapi.yaml", Public, s.openapi},
		{http.MethodPost, "/api/v1/auth/login", Public, s.login},
		{http.MethodPost, "/api/v1/auth/logout", Member, s.logout},
		{http.MethodGet, "/api/v1/me", Member, s.me},
		{http.MethodGet, "/api/v1/journal", Admin, s.journalList},
		{http.MethodGet, "/api/v1/journal/events", Admin, s.journalEvents},
		{http.MethodGet, "/api/v1/conversations", Member, s.conversations},
		{http.MethodGet, "/api/v1/conversations/:id", Member, s.conversation},
		{http.MethodGet, "/api/v1/conversations/:id/messages", Member, s.messages},
		{http.MethodGet, "/api/v1/conversations/:id/events", Member, s.conversationEvents},
		{http.MethodPost, "/api/v1/conversations/:id/messages", Member, s.reply},
		{http.MethodPost, "/api/v1/conversations/:id/join", Member, s.act(inbox.ActionJoin)},
		{http.MethodPost, "/api/v1/conversations/:id/leave", Member, s.act(inbox.ActionLeave)},
		{http.MethodPost, "/api/v1/conversations/:id/close", Member, s.act(inbox.ActionClose)},
		{http.MethodPost, "/api/v1/messages/:id/retry", Member, s.retry},
		{http.MethodGet, "/api/v1/attachments/:id", Member, s.attachment},
		{http.MethodGet, "/api/v1/activity", Member, s.activity},
		{http.MethodGet, "/api/v1/channels", Member, s.channelList},
		{http.MethodGet, "/hooks/:kind/:channel", Public, s.hook},
		{http.MethodPost, "/hooks/:kind/:channel", Public, s.hook},
	}
}

// guard authenticates and authorizes a route before its handler runs.
func (s *Server) guard(r Route) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(routeKey, r.Path)
		if r.Access == Public {
			return r.h(c)
		}
		u, err := s.authenticate(c)
		if err != nil {
			return err
		}
		if r.Access == Admin && !u.Role.IsAdmin() {
			return inbox.Errorf(inbox.EForbidden, "this needs an owner or admin")
		}
		if err := s.enrolmentGate(r, u); err != nil {
			return err
		}
		return r.h(c)
	}
}

const (
	userKey  = "inboxd.user"
	routeKey = "inboxd.route"
)

func currentUser(c echo.Context) *inbox.User {
	u, _ := c.Get(userKey).(*inbox.User)
	return u
}

// pathID parses the :id parameter; a malformed id is not found (404), as
// an id that does not exist would be.
// visibleConversation returns the path's conversation id once the caller
// may see that conversation (another queue's answers 404).
func (s *Server) visibleConversation(c echo.Context) (int64, error) {
	id, err := pathID(c)
	if err != nil {
		return 0, err
	}
	if _, err := s.o.Journal.Conversation(c.Request().Context(), currentUser(c), id); err != nil {
		return 0, err
	}
	return id, nil
}

func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, inbox.Errorf(inbox.ENotFound, "not found")
	}
	return id, nil
}

func (s *Server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPI)
}
