// Package whatsapp is the WhatsApp Business Cloud API channel: the webhook
// at /hooks/whatsapp/{channel} (the Graph API handshake and signed
// change notifications), a pure normalizer from its JSON to inbox.Inbound
// and delivery reports, the text sender with its 24-hour window, and the
// media download behind attachments.
package whatsapp

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind.
const Kind = "whatsapp"

// DefaultAPIBaseURL is the Graph API version inboxd speaks.
const DefaultAPIBaseURL = "https://graph.facebook.com/v21.0"

// Config is a whatsapp channel's entry in the config file.
type Config struct {
	PhoneNumberID string `yaml:"phone_number_id"`
	AccessToken   string `yaml:"access_token"`
	AppSecret     string `yaml:"app_secret"`
	VerifyToken   string `yaml:"verify_token"`
	APIBaseURL    string `yaml:"api_base_url"`
}

func (c *Config) validate() error {
	if err := adapters.Required("phone_number_id", c.PhoneNumberID, "access_token", c.AccessToken,
		"app_secret", c.AppSecret, "verify_token", c.VerifyToken); err != nil {
		return err
	}
	if strings.ContainsAny(c.PhoneNumberID, "/?#") {
		return fmt.Errorf("phone_number_id: must be the numeric phone number id")
	}
	var err error
	c.APIBaseURL, err = adapters.BaseURL(c.APIBaseURL, DefaultAPIBaseURL)
	return err
}

// Channel is a running WhatsApp channel: an adapters.Hook, inbox.Sender,
// inbox.ReplyChecker and adapters.AttachmentFetcher.
type Channel struct {
	id     string
	cfg    Config
	ingest inbox.Ingester
	log    *slog.Logger
	clock  inbox.Clock
	client *http.Client
	// callTimeout bounds one Cloud API call.
	callTimeout time.Duration
}

var (
	_ adapters.Factory           = New
	_ adapters.Hook              = (*Channel)(nil)
	_ inbox.Sender               = (*Channel)(nil)
	_ inbox.ReplyChecker         = (*Channel)(nil)
	_ adapters.AttachmentFetcher = (*Channel)(nil)
)

// New is the adapters.Factory of kind "whatsapp".
func New(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
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
		return nil, fmt.Errorf("whatsapp channel %q: no ingester", cfg.ID)
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
		id: cfg.ID, cfg: c, ingest: deps.Ingest, clock: clock, client: client,
		log:         log.With("channel", cfg.ID, "kind", Kind),
		callTimeout: 15 * time.Second,
	}, nil
}

// ID returns the channel id.
func (c *Channel) ID() string { return c.id }

// Kind returns "whatsapp".
func (c *Channel) Kind() string { return Kind }
