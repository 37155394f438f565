// Package tickets is the client of the configured ticket system
// (integrations.tickets): it POSTs a conversation to create_url, signed
// like the webhook channel (X-Inboxd-Signature: sha256=<hex
// HMAC-SHA256(secret, raw body)>), and reads the created ticket's
// {"url","id","title"}. Calls go through the safe fetcher (https to public
// addresses unless allow_private_fetch), with a timeout and a cap on the
// answer read.
package tickets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// Headers of a request to the ticket system.
const (
	SignatureHeader = "X-Inboxd-Signature"
	// EventHeader names what the request is, for a receiver that serves
	// more than one of inboxd's calls.
	EventHeader = "X-Inboxd-Event"
	Event       = "ticket.create"
)

// Bounds of a call.
const (
	DefaultTimeout = 10 * time.Second
	// MaxAnswer is how much of the ticket system's answer is read.
	MaxAnswer = 64 << 10
	// MinSecret is the shortest secret accepted (as the webhook channel's).
	MinSecret = 16
)

// Config is integrations.tickets.
type Config struct {
	CreateURL string `yaml:"create_url"`
	Secret    string `yaml:"secret"`
	// Label names the console's button (default "Create ticket").
	Label string `yaml:"label"`
	// System is what the created links' system says (default "tickets").
	System string `yaml:"system"`
	// Timeout bounds one call (default 10 s, at most 60 s).
	Timeout time.Duration `yaml:"timeout"`
	// AllowPrivateFetch lets create_url be http:// or at a private address
	// (a ticket system inside the network, tests).
	AllowPrivateFetch bool `yaml:"allow_private_fetch"`
}

// Enabled reports whether a ticket system is configured.
func (c *Config) Enabled() bool { return c.CreateURL != "" }

// Validate applies defaults and checks c; errors name the key under
// integrations.tickets.
func (c *Config) Validate() error {
	if !c.Enabled() {
		if c.Secret != "" || c.Label != "" || c.System != "" {
			return errors.New("create_url: is required when the other keys are set")
		}
		return nil
	}
	var errs []error
	u, err := url.Parse(c.CreateURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, errors.New("create_url: must be an http(s) URL"))
	case u.Scheme == "http" && !c.AllowPrivateFetch:
		errs = append(errs, errors.New("create_url: must be https (or set allow_private_fetch)"))
	case u.User != nil:
		errs = append(errs, errors.New("create_url: must not carry a user or password (use secret)"))
	}
	if len(c.Secret) < MinSecret {
		errs = append(errs, fmt.Errorf("secret: must be at least %d characters", MinSecret))
	}
	if c.Label == "" {
		c.Label = "Create ticket"
	}
	if len([]rune(c.Label)) > 40 {
		errs = append(errs, errors.New("label: must be at most 40 characters"))
	}
	if c.System == "" {
		c.System = "tickets"
	}
	if len([]rune(c.System)) > inbox.MaxLinkSystem {
		errs = append(errs, fmt.Errorf("system: must be at most %d characters", inbox.MaxLinkSystem))
	}
	switch {
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	case c.Timeout < 0 || c.Timeout > time.Minute:
		errs = append(errs, errors.New("timeout: must be between 1ns and 1m"))
	}
	return errors.Join(errs...)
}

// Client calls the ticket system; it implements inbox.TicketCreator.
type Client struct {
	cfg     Config
	fetcher *providerhttp.Fetcher
}

// New returns a client for a validated config.
func New(cfg Config) *Client {
	return &Client{cfg: cfg, fetcher: providerhttp.NewFetcher(providerhttp.FetchOptions{
		AllowPrivate: cfg.AllowPrivateFetch, Timeout: cfg.Timeout})}
}

// CreateTicket implements inbox.TicketCreator. A non-2xx answer, or one
// without a usable url, is an inbox.EUpstream error naming the status.
func (c *Client) CreateTicket(ctx context.Context, r inbox.TicketRequest) (inbox.TicketRef, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return inbox.TicketRef{}, fmt.Errorf("encode ticket request: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set(SignatureHeader, "sha256="+hooksig.Sign([]byte(c.cfg.Secret), body))
	h.Set(EventHeader, Event)
	resp, err := c.fetcher.Post(ctx, c.cfg.CreateURL, h, body)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.EForbidden {
			return inbox.TicketRef{}, fmt.Errorf("%w: %v", inbox.Errorf(inbox.EUpstream,
				"the ticket system's URL is refused (https at a public address only, unless allow_private_fetch)"), err)
		}
		return inbox.TicketRef{}, fmt.Errorf("%w: %v", inbox.Errorf(inbox.EUpstream, "the ticket system could not be reached"), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return inbox.TicketRef{}, fmt.Errorf("%w: %v", inbox.Errorf(inbox.EUpstream,
			"the ticket system's answer (status %d) could not be read", resp.StatusCode), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return inbox.TicketRef{}, inbox.Errorf(inbox.EUpstream, "the ticket system answered %d%s", resp.StatusCode, reason(raw))
	}
	if len(raw) > MaxAnswer {
		return inbox.TicketRef{}, inbox.Errorf(inbox.EUpstream, "the ticket system's answer is larger than %d bytes", MaxAnswer)
	}
	var ref struct {
		URL   string          `json:"url"`
		ID    json.RawMessage `json:"id"`
		Title string          `json:"title"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return inbox.TicketRef{}, inbox.Errorf(inbox.EUpstream, "the ticket system answered %d without a JSON object", resp.StatusCode)
	}
	if ref.URL == "" {
		return inbox.TicketRef{}, inbox.Errorf(inbox.EUpstream, "the ticket system answered %d without the ticket's url", resp.StatusCode)
	}
	return inbox.TicketRef{URL: ref.URL, ID: idString(ref.ID), Title: ref.Title}, nil
}

// idString accepts the ticket's id as a JSON string or number.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) == nil {
		return n.String()
	}
	return ""
}

// reason is a short, printable excerpt of a failed answer, for the agent:
// the ticket system's own message when it gave one as JSON
// ({"error":"..."} or {"message":"..."}), else nothing (an HTML error page
// says nothing useful).
func reason(raw []byte) string {
	var m struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	msg := m.Message
	if s, ok := m.Error.(string); ok && msg == "" {
		msg = s
	}
	msg = strings.Join(strings.Fields(strings.ToValidUTF8(msg, "")), " ")
	if msg == "" {
		return ""
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return ": " + msg
}

var _ inbox.TicketCreator = (*Client)(nil)
