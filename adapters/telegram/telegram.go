// Package telegram connects one Telegram bot per channel: it receives
// customer messages by long polling or by webhook, normalizes them into
// inbox.Inbound, sends replies within Telegram's rate limits and streams
// inbound files on demand without ever exposing the bot token.
//
// The go-telegram-bot-api/v5 library provides the wire types (Update,
// Message, File, APIResponse); the calls themselves are made here, because
// the library's have no context (a 25 s long poll could not be cut short at
// shutdown), its GetUpdatesChan acknowledges updates before they are stored,
// its webhook config has no secret_token, its file URL ignores a custom
// endpoint, and its transport errors repeat the token-bearing URL.
package telegram

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file.
const Kind = "telegram"

// Modes and group policies, as written in the config.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"

	GroupsIgnore       = "ignore"
	GroupsConversation = "conversation"
)

// DefaultAPIBaseURL is Telegram's own Bot API server.
const DefaultAPIBaseURL = "https://api.telegram.org"

const (
	defaultPollTimeout = 25
	maxPollTimeout     = 600
	// callTimeout bounds every call but the long poll and file downloads.
	callTimeout = 15 * time.Second
)

// Telegram's documented limits on sending: about one message per second in
// one chat, 30 per second overall.
const (
	perChatInterval = time.Second
	globalPerSecond = 30
)

var (
	// A bot token goes into every URL path: refuse anything that could
	// change the path or query (BotFather issues "<digits>:<base64url>").
	tokenRE = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	// Telegram's own rule for setWebhook's secret_token.
	secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// config is a telegram channel's entry in the config file.
type config struct {
	Token      string `yaml:"token"`
	Mode       string `yaml:"mode"`
	Secret     string `yaml:"secret"`
	APIBaseURL string `yaml:"api_base_url"`
	Groups     string `yaml:"groups"`
	// PollTimeout is the long-poll timeout in seconds (0: default).
	PollTimeout int `yaml:"poll_timeout"`
}

func (c *config) validate() error {
	if c.Token == "" {
		return fmt.Errorf("token: is required")
	}
	if !tokenRE.MatchString(c.Token) {
		// Never echo the token, even a malformed one.
		return fmt.Errorf("token: is not a bot token (<digits>:<letters, digits, _ or ->)")
	}
	switch c.Mode {
	case "":
		c.Mode = ModePolling
	case ModePolling, ModeWebhook:
	default:
		return fmt.Errorf("mode: must be %q or %q, not %q", ModePolling, ModeWebhook, c.Mode)
	}
	if c.Mode == ModeWebhook {
		if c.Secret == "" {
			return fmt.Errorf("secret: is required in webhook mode")
		}
		if !secretRE.MatchString(c.Secret) {
			return fmt.Errorf("secret: must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
		}
	}
	base, err := adapters.BaseURL(c.APIBaseURL, DefaultAPIBaseURL)
	if err != nil {
		return err
	}
	c.APIBaseURL = base
	switch c.Groups {
	case "":
		c.Groups = GroupsIgnore
	case GroupsIgnore, GroupsConversation:
	default:
		return fmt.Errorf("groups: must be %q or %q, not %q", GroupsIgnore, GroupsConversation, c.Groups)
	}
	switch {
	case c.PollTimeout == 0:
		c.PollTimeout = defaultPollTimeout
	case c.PollTimeout < 0 || c.PollTimeout > maxPollTimeout:
		return fmt.Errorf("poll_timeout: must be between 1 and %d seconds", maxPollTimeout)
	}
	return nil
}

// Channel is one Telegram bot. It is an adapters.Runner (the poller, or the
// webhook registration), an adapters.Hook (webhook mode), an
// adapters.Health, an adapters.AttachmentFetcher and an inbox.Sender.
type Channel struct {
	id     string
	cfg    config
	ingest inbox.Ingester
	log    *slog.Logger
	clock  inbox.Clock
	// poll is told of each poll whose updates were committed (metrics).
	poll adapters.PollObserver
	// client has no overall timeout: every call sets its own deadline,
	// longer than the long poll for getUpdates.
	client    *http.Client
	publicURL string

	// Backoff bounds for failed polls and commits; tests shorten them.
	backoffMin, backoffMax time.Duration

	health healthState

	global       *rate.Limiter
	chatInterval time.Duration
	chatMu       sync.Mutex
	chats        map[string]*rate.Limiter

	// sent remembers the chunks of a split reply already delivered when a
	// later chunk failed, so that the outbox's retry sends only the rest.
	sentMu sync.Mutex
	sent   map[int64][]string
}

var (
	_ adapters.Factory           = New
	_ adapters.Runner            = (*Channel)(nil)
	_ adapters.Hook              = (*Channel)(nil)
	_ adapters.Health            = (*Channel)(nil)
	_ adapters.AttachmentFetcher = (*Channel)(nil)
	_ inbox.Sender               = (*Channel)(nil)
)

// New is the adapters.Factory of telegram channels. It checks the config
// and makes no network call; Run talks to Telegram.
func New(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	return newChannel(cfg, deps)
}

func newChannel(cfg adapters.Config, deps adapters.Deps) (*Channel, error) {
	var c config
	if cfg.Decode != nil {
		if err := cfg.Decode(&c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Mode == ModeWebhook && deps.PublicURL == "" {
		return nil, fmt.Errorf("mode: webhook mode needs the daemon's public_url")
	}
	if deps.Ingest == nil {
		return nil, fmt.Errorf("telegram channel %s: no ingester", cfg.ID)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	clock := deps.Clock
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	client := &http.Client{}
	if deps.HTTPClient != nil {
		cp := *deps.HTTPClient
		cp.Timeout = 0 // a shared timeout shorter than the long poll would break it
		client = &cp
	}
	return &Channel{
		id:           cfg.ID,
		cfg:          c,
		ingest:       deps.Ingest,
		log:          log.With("channel", cfg.ID, "kind", Kind),
		clock:        clock,
		poll:         adapters.PollObserverOf(deps.Poll),
		client:       client,
		publicURL:    strings.TrimRight(deps.PublicURL, "/"),
		backoffMin:   time.Second,
		backoffMax:   time.Minute,
		global:       rate.NewLimiter(globalPerSecond, globalPerSecond),
		chatInterval: perChatInterval,
		chats:        map[string]*rate.Limiter{},
		sent:         map[int64][]string{},
	}, nil
}

// ID returns the channel id.
func (c *Channel) ID() string { return c.id }

// Kind returns "telegram".
func (c *Channel) Kind() string { return Kind }

// Mode returns "polling" or "webhook".
func (c *Channel) Mode() string { return c.cfg.Mode }

// WebhookURL is the URL registered with setWebhook (webhook mode).
func (c *Channel) WebhookURL() string {
	return c.publicURL + "/hooks/" + Kind + "/" + url.PathEscape(c.id)
}

// Health reports the channel's last upstream problem (another poller on the
// same token, a rejected token, a webhook Telegram refused); nil: healthy.
func (c *Channel) Health() error { return c.health.get() }

// healthState holds the error Health reports.
type healthState struct {
	mu  sync.Mutex
	err error
}

func (h *healthState) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *healthState) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}
