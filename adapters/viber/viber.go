// Package viber is the Viber channel: a bot ("Viber chatbot", formerly a
// public account) that receives callbacks at /hooks/viber/{channel}, signed
// with the bot's auth token, and replies through the REST bot API's
// send_message. It owns the channel's config, the pure normalizer of
// Viber's callbacks, the webhook handler, the sender and the registration
// of the webhook with Viber (set_webhook).
package viber

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file and in the hook path.
const Kind = "viber"

// DefaultAPIBaseURL is Viber's REST bot API; inboxd appends /pa/<method>.
const DefaultAPIBaseURL = "https://chatapi.viber.com"

// MaxSenderName is Viber's limit on the bot's displayed sender name.
const MaxSenderName = 28

// Config is a Viber channel's entry in the config file.
type Config struct {
	// AuthToken is the bot's token from the Viber admin panel. It
	// authenticates our calls and is the key of the callbacks' signature.
	AuthToken string `yaml:"auth_token"`
	// SenderName is shown to customers as the author of our replies.
	SenderName string `yaml:"sender_name"`
	// SenderAvatar is an optional URL of the replies' avatar.
	SenderAvatar string `yaml:"sender_avatar"`
	// APIBaseURL replaces https://chatapi.viber.com (a proxy, a test server).
	APIBaseURL string `yaml:"api_base_url"`
	// AllowPrivateFetch lets media downloads go to http:// URLs and to
	// private and loopback addresses (tests, a private proxy). Media URLs
	// come from callbacks, so by default only https URLs at public
	// addresses are fetched.
	AllowPrivateFetch bool `yaml:"allow_private_fetch"`
}

// validate checks cfg and fills defaults; errors name the key.
func (c *Config) validate() error {
	c.AuthToken = strings.TrimSpace(c.AuthToken)
	if c.AuthToken == "" {
		return errors.New("auth_token: is required")
	}
	c.SenderName = strings.TrimSpace(c.SenderName)
	switch {
	case c.SenderName == "":
		return errors.New("sender_name: is required")
	case !utf8.ValidString(c.SenderName):
		return errors.New("sender_name: is not valid UTF-8")
	case utf8.RuneCountInString(c.SenderName) > MaxSenderName:
		return fmt.Errorf("sender_name: is longer than %d characters (Viber's limit)", MaxSenderName)
	}
	if c.SenderAvatar != "" {
		if err := checkHTTPURL(c.SenderAvatar); err != nil {
			return fmt.Errorf("sender_avatar: %w", err)
		}
	}
	base, err := adapters.BaseURL(c.APIBaseURL, DefaultAPIBaseURL)
	if err != nil {
		return err
	}
	c.APIBaseURL = base
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

// Channel is a running Viber channel. It implements adapters.Hook,
// inbox.Sender and adapters.AttachmentFetcher, and RegisterWebhook for
// `inboxd channels register`.
type Channel struct {
	id     string
	cfg    Config
	ingest inbox.Ingester
	log    *slog.Logger
	clock  inbox.Clock
	public string
	client *http.Client
	// fetcher downloads media from the URLs callbacks name.
	fetcher *providerhttp.Fetcher
	maxBody int64
	// timeout bounds each call to Viber; the daemon's client has none of
	// its own (tests shorten it).
	timeout time.Duration
}

// New is the adapters.Factory of the viber kind.
func New(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	return newChannel(cfg, deps)
}

func newChannel(cfg adapters.Config, deps adapters.Deps) (*Channel, error) {
	if cfg.ID == "" {
		return nil, errors.New("id: is required")
	}
	if cfg.Decode == nil {
		return nil, errors.New("viber: the channel config has no decoder")
	}
	var c Config
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	ch := &Channel{
		id:      cfg.ID,
		cfg:     c,
		ingest:  deps.Ingest,
		log:     deps.Logger,
		clock:   deps.Clock,
		public:  strings.TrimRight(deps.PublicURL, "/"),
		client:  deps.HTTPClient,
		maxBody: hooksig.DefaultMaxBody,
		timeout: providerhttp.DefaultTimeout,
	}
	if ch.log == nil {
		ch.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ch.log = ch.log.With("channel", cfg.ID, "kind", Kind)
	if ch.clock == nil {
		ch.clock = inbox.SystemClock{}
	}
	if ch.client == nil {
		ch.client = &http.Client{}
	}
	ch.fetcher = providerhttp.NewFetcher(providerhttp.FetchOptions{AllowPrivate: c.AllowPrivateFetch, Timeout: ch.client.Timeout})
	return ch, nil
}

// ID implements adapters.Channel.
func (c *Channel) ID() string { return c.id }

// Kind implements adapters.Channel.
func (c *Channel) Kind() string { return Kind }

// endpoint returns the URL of a REST bot API method ("send_message").
func (c *Channel) endpoint(method string) string { return c.cfg.APIBaseURL + "/pa/" + method }

// authHeader is what every call to Viber carries.
func (c *Channel) authHeader() map[string]string {
	return map[string]string{"X-Viber-Auth-Token": c.cfg.AuthToken}
}

var (
	_ adapters.Hook              = (*Channel)(nil)
	_ inbox.Sender               = (*Channel)(nil)
	_ adapters.AttachmentFetcher = (*Channel)(nil)
)
