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
// message is committed, reads at most its body limit (hooksig.ReadBody),
// and answers every error through WriteError: the API's table for what the
// provider sent (4xx, never retried forever), 503 with Retry-After for
// anything not stored on our side. The request's RemoteAddr is the client's
// address as the API decided it (trusted_proxies), without a port.
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

// Feed is a live feed a channel serves its own clients (the widget's
// visitors) through the API: which events, how each is encoded, what a
// resuming client is sent. The API owns the connection, the replay from
// the events table, the per-owner caps and the heartbeats.
type Feed struct {
	// Channel and Visitor own the feed: the API caps the feeds of one
	// visitor (limits.feeds_per_visitor) or, for Visitor "" (an anonymous
	// page), those of one client address (limits.feeds_per_user).
	Channel, Visitor string
	// Filter decides which events the feed sends, live and replayed.
	Filter func(*inbox.Event) bool
	// Encoding names Encode: feeds with the same name share its output,
	// so each event is encoded once per name.
	Encoding string
	// Encode turns an event into an SSE event name and data (ok false:
	// the event is not sent).
	Encode func(e *inbox.Event) (name string, data []byte, ok bool)
	// Retry is the client's reconnect delay.
	Retry time.Duration
	// Hello is sent first; Resumed is sent to a resuming client before
	// its replay (both without an id).
	Hello, Resumed *FeedFrame
	// Replay is what a resuming client is read from the events table
	// (nil: nothing; Filter decides last).
	Replay *FeedReplay
}

// FeedFrame is one SSE event.
type FeedFrame struct {
	Name string
	Data []byte
}

// FeedReplay selects a resuming client's events from the events table.
type FeedReplay struct {
	ConversationID int64
	Kinds          []inbox.EventKind
}
