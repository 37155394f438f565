// Package meta is the Facebook Messenger and Instagram Direct channel: one
// webhook handler per channel (the Graph API's verification handshake and
// signed event batches), a pure normalizer from the Messenger Platform's
// webhook JSON to inbox.Inbound, the Send API sender with its 24-hour
// window, and the profile lookup that names contacts.
//
// The Graph API pieces WhatsApp shares with Messenger (the handshake and
// the Graph error body) are exported for adapters/whatsapp.
package meta

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// DefaultAPIBaseURL is the Graph API version inboxd speaks.
const DefaultAPIBaseURL = "https://graph.facebook.com/v21.0"

// Channel kinds served by this package (both under /hooks/meta/{channel}).
const (
	KindMessenger = "messenger"
	KindInstagram = "instagram"
)

// Config is a messenger or instagram channel's entry in the config file.
type Config struct {
	PageID          string `yaml:"page_id"`
	PageAccessToken string `yaml:"page_access_token"`
	AppSecret       string `yaml:"app_secret"`
	VerifyToken     string `yaml:"verify_token"`
	APIBaseURL      string `yaml:"api_base_url"`
	// HumanAgentTag lets agents answer up to 7 days after the customer's
	// last message with the HUMAN_AGENT tag (the page needs Meta's Human
	// Agent permission); without it the window is 24 hours.
	HumanAgentTag bool `yaml:"human_agent_tag"`
	// AllowPrivateFetch lets attachment downloads go to http:// URLs and
	// to private and loopback addresses (tests, a private proxy). The
	// URLs come from webhook payloads, so by default only https URLs at
	// public addresses are fetched.
	AllowPrivateFetch bool `yaml:"allow_private_fetch"`
}

func (c *Config) validate() error {
	if err := adapters.Required("page_id", c.PageID, "page_access_token", c.PageAccessToken,
		"app_secret", c.AppSecret, "verify_token", c.VerifyToken); err != nil {
		return err
	}
	if strings.ContainsAny(c.PageID, "/?#") {
		return fmt.Errorf("page_id: must be the numeric page or account id")
	}
	var err error
	c.APIBaseURL, err = adapters.BaseURL(c.APIBaseURL, DefaultAPIBaseURL)
	return err
}

// NewMessenger is the adapters.Factory of kind "messenger".
func NewMessenger(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	return newChannel(Messenger, cfg, deps)
}

// NewInstagram is the adapters.Factory of kind "instagram".
func NewInstagram(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	return newChannel(Instagram, cfg, deps)
}

var (
	_ adapters.Factory = NewMessenger
	_ adapters.Factory = NewInstagram
)

// Channel is a running Messenger or Instagram channel. It is an
// adapters.Hook, an inbox.Sender, an inbox.ReplyChecker and an
// adapters.AttachmentFetcher.
type Channel struct {
	id       string
	platform Platform
	cfg      Config
	ingest   inbox.Ingester
	log      *slog.Logger
	clock    inbox.Clock
	client   *http.Client
	// fetcher downloads attachments from the URLs payloads name.
	fetcher  *providerhttp.Fetcher
	profiles *profileCache
	sent     *sentLog
	// callTimeout bounds one Send API call; profileBudget bounds all
	// profile lookups of one webhook request so that a slow Graph API
	// cannot hold the webhook past Meta's own timeout.
	callTimeout   time.Duration
	profileBudget time.Duration
}

var (
	_ adapters.Hook              = (*Channel)(nil)
	_ inbox.Sender               = (*Channel)(nil)
	_ inbox.ReplyChecker         = (*Channel)(nil)
	_ adapters.AttachmentFetcher = (*Channel)(nil)
)

func newChannel(p Platform, cfg adapters.Config, deps adapters.Deps) (*Channel, error) {
	var c Config
	if cfg.Decode != nil {
		if err := cfg.Decode(&c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if deps.Ingest == nil {
		return nil, fmt.Errorf("%s channel %q: no ingester", p, cfg.ID)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	clock := deps.Clock
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	client := deps.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &Channel{
		id:            cfg.ID,
		platform:      p,
		cfg:           c,
		ingest:        deps.Ingest,
		log:           log.With("channel", cfg.ID, "kind", string(p)),
		clock:         clock,
		client:        client,
		fetcher:       providerhttp.NewFetcher(providerhttp.FetchOptions{AllowPrivate: c.AllowPrivateFetch, Timeout: client.Timeout}),
		profiles:      newProfileCache(profileCacheSize, profileFailTTL),
		sent:          newSentLog(sentLogSize),
		callTimeout:   15 * time.Second,
		profileBudget: 5 * time.Second,
	}, nil
}

// ID returns the channel id.
func (c *Channel) ID() string { return c.id }

// Kind returns "messenger" or "instagram".
func (c *Channel) Kind() string { return string(c.platform) }
