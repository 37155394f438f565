// Package webhook is the generic signed JSON channel: a customer's own
// system posts messages to /hooks/webhook/{channel}, signed with
// X-Inboxd-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>, and
// receives agents' replies at its callback_url, signed the same way.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file.
const Kind = "webhook"

// SignatureHeader carries the HMAC of the raw body.
const SignatureHeader = "X-Inboxd-Signature"

// Config is the channel's part of the config file.
type Config struct {
	Secret      string `yaml:"secret"`
	CallbackURL string `yaml:"callback_url"`
	// MaxBody bounds an inbound request (default 1 MiB).
	MaxBody int64 `yaml:"max_body"`
}

// Channel is one webhook channel.
type Channel struct {
	id     string
	cfg    Config
	ingest inbox.Ingester
	log    *slog.Logger
	client *http.Client
	clock  inbox.Clock
}

// New is the adapters.Factory of the webhook kind.
func New(ac adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	var cfg Config
	if err := ac.Decode(&cfg); err != nil {
		return nil, err
	}
	switch {
	case cfg.Secret == "":
		return nil, errors.New("secret: is required")
	case len(cfg.Secret) < 16:
		return nil, errors.New("secret: must be at least 16 characters")
	case cfg.MaxBody < 0:
		return nil, errors.New("max_body: must not be negative")
	}
	if cfg.CallbackURL != "" {
		u, err := url.Parse(cfg.CallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("callback_url: must be an http(s) URL")
		}
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = hooksig.DefaultMaxBody
	}
	c := &Channel{id: ac.ID, cfg: cfg, ingest: deps.Ingest, log: deps.Logger, client: deps.HTTPClient, clock: deps.Clock}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("channel", ac.ID, "kind", Kind)
	if c.client == nil {
		c.client = &http.Client{Timeout: 15 * time.Second}
	}
	if c.clock == nil {
		c.clock = inbox.SystemClock{}
	}
	return c, nil
}

// ID implements adapters.Channel.
func (c *Channel) ID() string { return c.id }

// Kind implements adapters.Channel.
func (c *Channel) Kind() string { return Kind }

// Payload is the body of an inbound request.
type Payload struct {
	MessageID string `json:"message_id"`
	Contact   struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
		Email    string `json:"email"`
		Phone    string `json:"phone"`
	} `json:"contact"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sent_at"`
}

// Normalize turns a verified raw body into an Inbound. It is pure.
func Normalize(channelID string, body []byte) (inbox.Inbound, error) {
	if !utf8.Valid(body) {
		return inbox.Inbound{}, inbox.Invalid("body", "is not valid UTF-8")
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return inbox.Inbound{}, inbox.Invalid("body", "is not a valid message: %s", jsonProblem(err))
	}
	if dec.More() {
		return inbox.Inbound{}, inbox.Invalid("body", "holds more than one JSON value")
	}
	in := inbox.Inbound{
		ChannelID: channelID, ExternalID: p.MessageID, Text: p.Text, SentAt: p.SentAt,
		Contact: inbox.ContactInfo{ExternalID: p.Contact.ID, Name: p.Contact.Name, Username: p.Contact.Username,
			Email: p.Contact.Email, Phone: p.Contact.Phone},
	}
	if err := in.Validate(); err != nil {
		return inbox.Inbound{}, err
	}
	return in, nil
}

// jsonProblem describes a decoding error without echoing input.
func jsonProblem(err error) string {
	var pe *time.ParseError
	switch {
	case errors.As(err, &pe):
		return "field sent_at must be an RFC 3339 time"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The name is quoted by encoding/json; bound it all the same.
		return "unknown field " + truncateString(strings.TrimPrefix(err.Error(), "json: unknown field "), 64)
	}
	return hooksig.JSONProblem(err)
}

// ServeHTTP implements adapters.Hook. Errors are answered through
// adapters.WriteError: 4xx for the sender's input, 503 with Retry-After
// for anything not stored on our side.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		adapters.MethodNotAllowed(w, http.MethodPost)
		return
	}
	body, err := hooksig.ReadBody(r, c.cfg.MaxBody)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	// The signature is checked before anything reads the body's content.
	if !hooksig.Verify([]byte(c.cfg.Secret), body, r.Header.Get(SignatureHeader), "sha256=") {
		adapters.WriteError(w, c.log.With("ip", r.RemoteAddr),
			inbox.Errorf(inbox.EUnauthorized, "missing or wrong %s", SignatureHeader))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		adapters.UnsupportedMediaType(w, "application/json")
		return
	}
	in, err := Normalize(c.id, body)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	res, err := c.ingest.Ingest(r.Context(), in)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(res)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// truncateString cuts s to at most n bytes on a rune boundary.
func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Reply is the body POSTed to callback_url.
type Reply struct {
	MessageID      int64     `json:"message_id"`
	ConversationID int64     `json:"conversation_id"`
	Contact        ReplyTo   `json:"contact"`
	Author         ReplyFrom `json:"author"`
	Text           string    `json:"text"`
	SentAt         time.Time `json:"sent_at"`
}

// ReplyTo names the customer a reply is for.
type ReplyTo struct {
	ID string `json:"id"`
}

// ReplyFrom names the agent.
type ReplyFrom struct {
	Name string `json:"name"`
}

// CheckReply implements inbox.ReplyChecker: without a callback URL the
// channel cannot deliver replies, and says so before one is stored.
func (c *Channel) CheckReply(ctx context.Context, conv *inbox.Conversation, now time.Time) error {
	if c.cfg.CallbackURL == "" {
		return inbox.Errorf(inbox.EConflict, "channel %q has no callback_url: replies cannot be delivered", c.id)
	}
	return nil
}

// Send implements inbox.Sender. X-Inboxd-Delivery carries our message id,
// the same on every retry, so the receiver can drop repeats.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	if c.cfg.CallbackURL == "" {
		return inbox.SendResult{}, inbox.Permanent(errors.New("the channel has no callback_url"))
	}
	body, err := json.Marshal(Reply{
		MessageID: out.MessageID, ConversationID: out.Conversation.ID, Contact: ReplyTo{ID: out.Contact.ExternalID},
		Author: ReplyFrom{Name: out.AuthorName}, Text: out.Text, SentAt: c.clock.Now(),
	})
	if err != nil {
		return inbox.SendResult{}, inbox.Permanent(err)
	}
	// json.RawMessage is sent as is, so the signature covers the exact bytes.
	status, h, resp, err := providerhttp.Call(ctx, c.client, http.MethodPost, c.cfg.CallbackURL, map[string]string{
		SignatureHeader:     "sha256=" + hooksig.Sign([]byte(c.cfg.Secret), body),
		"X-Inboxd-Delivery": strconv.FormatInt(out.MessageID, 10),
	}, json.RawMessage(body))
	if err != nil {
		return inbox.SendResult{}, fmt.Errorf("callback: %w", err)
	}
	reason := strings.ToValidUTF8(string(bytes.TrimSpace(truncate(resp, 300))), "")
	if err := providerhttp.Classify(status, h, reason); err != nil {
		return inbox.SendResult{}, err
	}
	var ack struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(resp, &ack) // the id is optional
	if ack.ID == "" || len(ack.ID) > 200 {
		ack.ID = "webhook-" + strconv.FormatInt(out.MessageID, 10)
	}
	return inbox.SendResult{ProviderID: ack.ID}, nil
}

var (
	_ adapters.Hook      = (*Channel)(nil)
	_ inbox.Sender       = (*Channel)(nil)
	_ inbox.ReplyChecker = (*Channel)(nil)
)
