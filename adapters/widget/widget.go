// Package widget is the website chat widget channel: its config (allowed
// origins, identity secret, language, strings, colours, limits), the
// visitors' identity and rate limits, the normalizer of a visitor's message
// into an inbox.Inbound and its external-id format, the widget's own files
// (widget.js and widget.css, embedded), and its HTTP: the visitors'
// /widget/v1 routes, their Origin check and CORS, and their live feed's
// filter and encoding (http.go), which the API mounts and serves behind
// its own middleware, errors and SSE machinery. Agents' replies are read
// from inboxd by the widget, so a stored reply counts as delivered.
package widget

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file.
const Kind = "widget"

// Defaults of the channel's limits.
const (
	DefaultMaxMessageLength = 4000 // characters
	DefaultIPPerMinute      = 120  // widget requests per IP address
	DefaultVisitorPerMinute = 30   // messages and typing notices per visitor
)

// Config is the channel's part of the config file.
type Config struct {
	// AllowedOrigins are the sites that may embed the widget
	// ("https://example.com"; "*" for any). inboxd's own pages are always
	// allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// IdentitySecret enables identity verification: the site passes
	// user_id and user_hash = hex HMAC-SHA256(identity_secret, user_id).
	IdentitySecret string `yaml:"identity_secret"`
	// Lang fixes the widget's language; empty: the visitor's browser
	// language when shipped (en, fi, de, uk, nl) or configured, else en.
	Lang string `yaml:"lang"`
	// Strings override or add translations: language -> key -> text.
	Strings  map[string]map[string]string `yaml:"strings"`
	Colors   Colors                       `yaml:"colors"`
	Position string                       `yaml:"position"` // right (default) | left
	// MaxMessageLength bounds a visitor's message, in characters.
	MaxMessageLength int        `yaml:"max_message_length"`
	RateLimits       RateLimits `yaml:"rate_limits"`
	// RealIPHeader is ignored (still accepted, so that configs written for
	// it load): it trusted the header from anyone who could reach inboxd.
	// Rate limits count the client address the daemon's trusted_proxies
	// settle.
	RealIPHeader string `yaml:"real_ip_header"`
}

// Colors are the widget's colours (#rgb or #rrggbb).
type Colors struct {
	Primary   string `yaml:"primary" json:"primary"`       // launcher, header, the visitor's bubbles
	OnPrimary string `yaml:"on_primary" json:"on_primary"` // text on primary
}

// RateLimits bound requests per minute.
type RateLimits struct {
	IPPerMinute      int `yaml:"ip_per_minute"`
	VisitorPerMinute int `yaml:"visitor_per_minute"`
}

// Channel is one widget channel.
type Channel struct {
	id, queue string
	cfg       Config
	clock     inbox.Clock
	ips       *limiter
	visitors  *limiter
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// New is the adapters.Factory of the widget kind.
func New(ac adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	var cfg Config
	if err := ac.Decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	clock := deps.Clock
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	if cfg.RealIPHeader != "" && deps.Logger != nil {
		deps.Logger.Warn("real_ip_header is ignored: list your reverse proxies in the top-level trusted_proxies",
			"channel", ac.ID)
	}
	return &Channel{
		id: ac.ID, queue: ac.Queue, cfg: cfg, clock: clock,
		ips:      newLimiter(cfg.RateLimits.IPPerMinute),
		visitors: newLimiter(cfg.RateLimits.VisitorPerMinute),
	}, nil
}

func (cfg *Config) validate() error {
	for i, o := range cfg.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.User != nil {
			return errors.New("allowed_origins[" + strconv.Itoa(i) + "]: must be an origin like https://example.com")
		}
		cfg.AllowedOrigins[i] = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	if cfg.Lang != "" && !knownLang(cfg.Lang, cfg.Strings) {
		return fmt.Errorf("lang: %q is not shipped (%s) and has no strings of its own", cfg.Lang, strings.Join(shippedLangs(), ", "))
	}
	for lang, m := range cfg.Strings {
		for k := range m {
			if _, ok := translations["en"][k]; !ok {
				return fmt.Errorf("strings.%s.%s: unknown key", lang, k)
			}
		}
	}
	for key, c := range map[string]string{"colors.primary": cfg.Colors.Primary, "colors.on_primary": cfg.Colors.OnPrimary} {
		if c != "" && !hexColor.MatchString(c) {
			return fmt.Errorf("%s: must be a colour like #1a73e8", key)
		}
	}
	if cfg.Colors.Primary == "" {
		cfg.Colors.Primary = "#1f5fbf"
	}
	if cfg.Colors.OnPrimary == "" {
		cfg.Colors.OnPrimary = "#ffffff"
	}
	switch cfg.Position {
	case "":
		cfg.Position = "right"
	case "right", "left":
	default:
		return errors.New("position: must be right or left")
	}
	switch {
	case cfg.MaxMessageLength == 0:
		cfg.MaxMessageLength = DefaultMaxMessageLength
	case cfg.MaxMessageLength < 0 || cfg.MaxMessageLength > inbox.MaxTextBytes/4:
		return fmt.Errorf("max_message_length: must be between 1 and %d", inbox.MaxTextBytes/4)
	}
	if cfg.RateLimits.IPPerMinute == 0 {
		cfg.RateLimits.IPPerMinute = DefaultIPPerMinute
	}
	if cfg.RateLimits.VisitorPerMinute == 0 {
		cfg.RateLimits.VisitorPerMinute = DefaultVisitorPerMinute
	}
	if cfg.RateLimits.IPPerMinute < 0 || cfg.RateLimits.VisitorPerMinute < 0 {
		return errors.New("rate_limits: must be positive")
	}
	return nil
}

// ID implements adapters.Channel.
func (c *Channel) ID() string { return c.id }

// Kind implements adapters.Channel.
func (c *Channel) Kind() string { return Kind }

// Queue is the channel's queue.
func (c *Channel) Queue() string { return c.queue }

// MaxMessageLength is the longest message a visitor may send, in characters.
func (c *Channel) MaxMessageLength() int { return c.cfg.MaxMessageLength }

// Send implements inbox.Sender: the widget reads replies from inboxd
// itself, so a stored reply is delivered.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	return inbox.SendResult{ProviderID: "widget-" + strconv.FormatInt(out.MessageID, 10)}, nil
}
