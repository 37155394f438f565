package inbox

import (
	"context"
	"strings"
	"time"
)

// AutoReplyRequest asks for the automatic first answer of a closed queue.
type AutoReplyRequest struct {
	ConversationID int64
	// InboundID is the customer message being answered.
	InboundID int64
	// Period names the closed period (its next opening, say): a
	// conversation is answered at most once per period.
	Period string
	Text   string
}

// autoReplyTx is what AutoReply needs of a transaction beyond Tx; the
// store's transactions implement it.
type autoReplyTx interface {
	HasAutoReply(ctx context.Context, conversationID int64, period string) (bool, error)
	RecordAutoReply(ctx context.Context, conversationID int64, period string, messageID int64, at time.Time) (bool, error)
}

// AutoReply stores the automatic answer as an outbound message authored by
// the system (no agent, Auto set) and queues it in the outbox. It does
// nothing and returns nil when the conversation already had its answer in
// this period, when the customer message was itself sent by a machine
// (an auto-reply answering an auto-reply loops), or when an agent is on
// the conversation. The conversation's state, owner and preview are left
// alone: an automatic answer does not take or answer a chat.
func (s *Service) AutoReply(ctx context.Context, r AutoReplyRequest) (*Message, error) {
	r.Text = strings.TrimSpace(r.Text)
	switch {
	case r.Text == "":
		return nil, Invalid("text", "is required")
	case r.Period == "":
		return nil, Invalid("period", "is required")
	case len(r.Text) > MaxTextBytes:
		return nil, &Error{Code: ETooLarge, Field: "text", Message: "text is too long"}
	}
	var msg *Message
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		msg = nil
		art, ok := tx.(autoReplyTx)
		if !ok {
			return Errorf(EInternal, "the store cannot record automatic answers")
		}
		in, err := tx.Message(ctx, r.InboundID)
		if err != nil {
			return err
		}
		if in.ConversationID != r.ConversationID || in.Direction != DirectionIn || in.Auto {
			return nil
		}
		if done, err := art.HasAutoReply(ctx, r.ConversationID, r.Period); err != nil || done {
			return err
		}
		conv, err := tx.Conversation(ctx, r.ConversationID)
		if err != nil {
			return err
		}
		if conv.Status == StatusActive {
			return nil
		}
		now := s.clock.Now()
		m := &Message{
			ConversationID: conv.ID, ChannelID: conv.ChannelID, Direction: DirectionOut,
			Text: r.Text, Delivery: DeliveryPending, Auto: true,
			Meta: map[string]string{"auto_reply": "closed", "in_reply_to": itoa(in.ID)}, CreatedAt: now,
		}
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		if first, err := art.RecordAutoReply(ctx, conv.ID, r.Period, m.ID, now); err != nil {
			return err
		} else if !first {
			return ErrRetryTx // a concurrent answer won: the retry sees it and does nothing
		}
		if err := tx.Enqueue(ctx, m, now); err != nil {
			return err
		}
		if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: ActivityAutoReplied, ConversationID: conv.ID,
			Data: map[string]string{"period": r.Period, "message_id": itoa(m.ID)}, CreatedAt: now}); err != nil {
			return err
		}
		evs.message(EventMessageCreated, conv, m, now)
		msg = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	if msg != nil {
		s.wake()
	}
	return msg, nil
}
