// Package email is the email channel: one mailbox per channel, fetched
// over IMAP (IDLE when the server offers it, polling otherwise) with an
// exactly-once cursor, parsed with enmime into inbox.Inbound (threading
// headers, reply+<token>@ addresses, loop protection, bounces), and
// answered over SMTP with proper threading headers.
package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file.
const Kind = "email"

// Channel is a running email channel. It is an adapters.Runner (the IMAP
// poller), an adapters.Health (connection and login errors) and an
// inbox.Sender (SMTP replies).
type Channel struct {
	id     string
	cfg    Config
	poller *poller
	sender *Sender
}

var (
	_ adapters.Runner = (*Channel)(nil)
	_ adapters.Health = (*Channel)(nil)
	_ inbox.Sender    = (*Channel)(nil)
)

// New builds an email channel from its config entry; it is an
// adapters.Factory.
func New(cfg adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	var c Config
	if cfg.Decode == nil {
		return nil, errors.New("address: is required")
	}
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if deps.Ingest == nil {
		return nil, fmt.Errorf("email channel %s: no ingester", cfg.ID)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("channel", cfg.ID, "kind", Kind)
	clock := deps.Clock
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	ch := &Channel{id: cfg.ID, cfg: c}
	ch.poller = newPoller(cfg.ID, c, deps.Ingest, log)
	ch.poller.clock, ch.poller.observe = clock, adapters.PollObserverOf(deps.Poll)
	ch.sender = NewSender(cfg.ID, cfg.Name, c, clock)
	return ch, nil
}

// ID implements adapters.Channel.
func (c *Channel) ID() string { return c.id }

// Kind implements adapters.Channel.
func (c *Channel) Kind() string { return Kind }

// Run fetches the mailbox until ctx is done; see poller.
func (c *Channel) Run(ctx context.Context) error { return c.poller.run(ctx) }

// Health reports the IMAP connection's last error (nil: healthy or not
// started).
func (c *Channel) Health() error { return c.poller.health() }

// Send delivers an agent's reply over SMTP.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	return c.sender.Send(ctx, out)
}
