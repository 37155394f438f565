// Package adapters holds the contract between inboxd and its channel
// adapters. Each channel kind lives in its own folder (adapters/webhook,
// adapters/telegram, ...) and provides a Factory; cmd/inboxd wires the
// factories explicitly (no registration side effects).
package adapters

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Config is one entry of the config file's channels list.
type Config struct {
	ID    string
	Kind  string
	Name  string
	Queue string
	// Decode decodes the entry into the adapter's own config struct,
	// refusing keys that neither it nor the common fields know. Errors
	// name the key.
	Decode func(into any) error
}

// Deps is what the daemon hands every channel.
type Deps struct {
	Ingest inbox.Ingester
	Logger *slog.Logger
	Clock  inbox.Clock
	// PublicURL is the daemon's public base URL (webhook URLs, links).
	PublicURL string
	// HTTPClient is for calls to providers; adapters set their own timeouts.
	HTTPClient *http.Client
	// Poll is told of each poll that succeeded (nil: nobody is).
	Poll PollObserver
}

// PollObserver is told by a poller (Telegram, IMAP) of each fetch whose
// messages were all committed, for an operator's metrics: when (at), and
// how far behind upstream the poller was (lag: the age, at the fetch, of
// the oldest message it fetched; 0 when the fetch found nothing new). It
// must not block.
type PollObserver interface {
	Polled(channel string, at time.Time, lag time.Duration)
}

// PollObserverOf returns o, or one that observes nothing when o is nil.
func PollObserverOf(o PollObserver) PollObserver {
	if o == nil {
		return nopPoll{}
	}
	return o
}

type nopPoll struct{}

func (nopPoll) Polled(string, time.Time, time.Duration) {}

// Channel is a running channel. Optional capabilities are the interfaces
// below; the daemon checks for them.
type Channel interface {
	ID() string
	Kind() string
}

// Factory builds a channel from its config; it validates the config and
// returns errors that name the key (e.g. "secret: is required").
type Factory func(cfg Config, deps Deps) (Channel, error)

// Hook is a channel that receives provider webhooks at
// /hooks/<kind>/<channel id>. The handler acknowledges (2xx) only after the
// message is committed, answers 503 when storage is unavailable, and reads
// at most the body limit the daemon enforces.
type Hook interface {
	Channel
	http.Handler
}

// Runner is a channel with a background loop (a poller). Run returns when
// ctx is done; it retries its own transient errors.
type Runner interface {
	Channel
	Run(ctx context.Context) error
}

// Health is a channel that reports its state for /readyz (nil: healthy).
type Health interface {
	Health() error
}

// AttachmentFetcher is a channel whose inbound attachments stay at the
// provider and are fetched on demand (ref is Attachment.ProviderRef). The
// returned reader is closed by the caller; credentials never leave it.
type AttachmentFetcher interface {
	FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error)
}
