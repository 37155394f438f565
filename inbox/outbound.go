package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outbound is a reply handed to a channel's sender.
type Outbound struct {
	MessageID    int64
	ChannelID    string
	Conversation OutboundConversation
	Contact      Contact
	AuthorName   string
	Text         string
	// Attempt counts from 1.
	Attempt int
	// Thread lists, oldest first, the provider-side ids of the
	// conversation's earlier messages (inbound external ids, outbound
	// provider ids), for channels that thread by reference (email).
	Thread []string
	// LastInbound is the newest customer message, when there is one.
	LastInbound *Message
	// Auto marks an automatic message (an out-of-hours answer), not an
	// agent's: email sends it with Auto-Submitted: auto-replied.
	Auto bool
}

// OutboundConversation is what a sender may need of the conversation.
type OutboundConversation struct {
	ID        int64
	Number    int64
	Token     string
	ThreadKey string
	Subject   string
	Title     string
}

// SendResult is what the provider answered.
type SendResult struct {
	// ProviderID is the provider's id of the sent message (several,
	// comma-joined, when the reply had to be split).
	ProviderID string
}

// Sender delivers replies on one channel.
type Sender interface {
	Send(ctx context.Context, out Outbound) (SendResult, error)
}

// ReplyChecker is implemented by senders that refuse some replies up front
// (a messaging window that closed); the error reaches the agent.
type ReplyChecker interface {
	CheckReply(ctx context.Context, conv *Conversation, now time.Time) error
}

// SendError classifies a failed send for the outbox.
type SendError struct {
	Err error
	// Permanent: retrying cannot help (a 4xx with a reason).
	Permanent bool
	// RetryAfter is the provider's requested wait (429), zero when unknown.
	RetryAfter time.Duration
}

func (e *SendError) Error() string {
	switch {
	case e.Permanent:
		return "permanent: " + e.Err.Error()
	case e.RetryAfter > 0:
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &SendError{Err: err, Permanent: true} }

// RetryAfter marks err as temporary with the provider's requested wait.
func RetryAfter(err error, d time.Duration) error { return &SendError{Err: err, RetryAfter: d} }

// sendErrorClass returns how the outbox should treat err.
func sendErrorClass(err error) (permanent bool, retryAfter time.Duration) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Permanent, se.RetryAfter
	}
	return false, 0
}
