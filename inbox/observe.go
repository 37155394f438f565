package inbox

import (
	"context"
	"errors"
	"time"
)

// IngestObserver is told what ingest does, for an operator's metrics. Its
// methods are called after the fact, never inside a transaction, and must
// not block.
type IngestObserver interface {
	// Group reports one ingest transaction: a group commit's group or a
	// poller's batch, its size in messages and how long it took to commit.
	Group(size int, d time.Duration)
	// Ingested reports one message stored (a duplicate is not counted).
	Ingested(channel string)
	// Rejected reports one message refused, with the reason: the error
	// code (EInvalid, ETooLarge, EUnavailable, EInternal, ...) or
	// ReasonCanceled.
	Rejected(channel, reason string)
}

// OutboxObserver is told the outcome of each send the dispatcher tries.
type OutboxObserver interface {
	Sent(channel string, outcome SendOutcome)
}

// SendOutcome is what became of one attempt to send a reply.
type SendOutcome string

// Send outcomes.
const (
	// SendSent: the provider accepted the reply.
	SendSent SendOutcome = "sent"
	// SendRetried: the attempt failed and the reply waits for another.
	SendRetried SendOutcome = "retried"
	// SendFailed: the attempt failed for good (a permanent error, or the
	// last attempt); the reply is marked failed.
	SendFailed SendOutcome = "failed"
)

// ReasonCanceled is the rejection reason of a message whose caller gave up
// (its context ended) before it was stored.
const ReasonCanceled = "canceled"

// RejectReason is the bounded label a refused message is counted under:
// the error's code, or ReasonCanceled.
func RejectReason(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ReasonCanceled
	}
	return ErrorCode(err)
}

// NopObserver observes nothing; it is the default of both observers.
type NopObserver struct{}

// Group implements IngestObserver.
func (NopObserver) Group(int, time.Duration) {}

// Ingested implements IngestObserver.
func (NopObserver) Ingested(string) {}

// Rejected implements IngestObserver.
func (NopObserver) Rejected(string, string) {}

// Sent implements OutboxObserver.
func (NopObserver) Sent(string, SendOutcome) {}

type rejectsCountedKey struct{}

// WithRejectsCounted marks ctx as coming from a boundary that counts its
// own refusals (the webhook routes count every 4xx and 5xx they answer,
// also those no service call saw): the service then counts what it stores
// but not what it refuses, so that no refusal is counted twice.
func WithRejectsCounted(ctx context.Context) context.Context {
	return context.WithValue(ctx, rejectsCountedKey{}, true)
}

func rejectsCounted(ctx context.Context) bool {
	v, _ := ctx.Value(rejectsCountedKey{}).(bool)
	return v
}

// rejected counts a refused message unless its caller counts it.
func (s *Service) rejected(ctx context.Context, channel string, err error) {
	if !rejectsCounted(ctx) {
		s.obs.Rejected(channel, RejectReason(err))
	}
}

// ingested counts the stored messages among results.
func (s *Service) ingested(ins []Inbound, results []IngestResult) {
	for i, r := range results {
		if !r.Duplicate && i < len(ins) {
			s.obs.Ingested(ins[i].ChannelID)
		}
	}
}
