// Package widget is the website chat widget channel. Visitors' messages
// arrive through inboxd's own widget routes, and agents' replies are read
// by the widget from inboxd, so a reply is delivered once it is stored.
package widget

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Kind is the channel kind in the config file.
const Kind = "widget"

// Config is the channel's part of the config file.
type Config struct {
	AllowedOrigins []string `yaml:"allowed_origins"`
	IdentitySecret string   `yaml:"identity_secret"`
}

// Channel is one widget channel.
type Channel struct {
	id  string
	cfg Config
}

// New is the adapters.Factory of the widget kind.
func New(ac adapters.Config, deps adapters.Deps) (adapters.Channel, error) {
	var cfg Config
	if err := ac.Decode(&cfg); err != nil {
		return nil, err
	}
	for i, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if o == "*" {
			continue
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, errors.New("allowed_origins[" + strconv.Itoa(i) + "]: must be an origin like https://example.com")
		}
	}
	return &Channel{id: ac.ID, cfg: cfg}, nil
}

// ID implements adapters.Channel.
func (c *Channel) ID() string { return c.id }

// Kind implements adapters.Channel.
func (c *Channel) Kind() string { return Kind }

// Send implements inbox.Sender: the widget fetches replies from inboxd
// itself, so a stored reply is delivered.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	return inbox.SendResult{ProviderID: "widget-" + strconv.FormatInt(out.MessageID, 10)}, nil
}
