package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"golang.org/x/time/rate"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

const (
	// maxChatLimiters bounds the per-chat limiter map; idle ones are
	// dropped beyond it (an idle limiter is full, so nothing is lost).
	maxChatLimiters = 10000
	// maxPartialSends bounds the memory of half-sent split replies.
	maxPartialSends = 1000
	// groupIntervalFactor stretches the per-chat interval for groups:
	// 3 s, i.e. 20 messages a minute.
	groupIntervalFactor = 3
)

// Send delivers a reply with sendMessage, split into several messages when
// longer than Telegram's 4096 characters. The chat is the conversation's
// thread key (a group) or the contact's id (a private chat). It waits for
// the chat's and the bot's rate limits, and classifies failures for the
// outbox: 429 is inbox.RetryAfter with Telegram's retry_after, other 4xx
// permanent (blocked by the user, chat not found), 5xx and transport errors
// temporary. SendResult.ProviderID is "<chat id>:<message id>" of every
// message sent, comma-joined.
//
// The library does not retry 429 and neither does Send: the outbox waits.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	chat := out.Conversation.ThreadKey
	if chat == "" {
		chat = out.Contact.ExternalID
	}
	chatID, err := strconv.ParseInt(chat, 10, 64)
	if err != nil {
		return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("telegram: conversation has no chat id (%q)", chat))
	}
	chunks := splitMessage(out.Text, maxMessageLen)
	if len(chunks) == 0 {
		return inbox.SendResult{}, inbox.Permanent(errors.New("telegram: empty reply"))
	}
	// A retry of a split reply resumes after the chunks that went out.
	ids := c.partial(out.MessageID)
	if len(ids) >= len(chunks) {
		ids = nil // the reply changed since: start over
	}
	for _, text := range chunks[len(ids):] {
		if err := c.waitTurn(ctx, chat); err != nil {
			c.remember(out.MessageID, ids)
			return inbox.SendResult{}, fmt.Errorf("telegram: waiting for the rate limit: %w", err)
		}
		var msg tgbotapi.Message
		err := c.callShort(ctx, "sendMessage", map[string]any{"chat_id": chatID, "text": text}, &msg)
		if err != nil {
			c.remember(out.MessageID, ids)
			return inbox.SendResult{}, sendError(err)
		}
		ids = append(ids, chat+":"+strconv.Itoa(msg.MessageID))
	}
	c.remember(out.MessageID, nil)
	return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, nil
}

// sendError classifies a failed sendMessage for the outbox.
func sendError(err error) error {
	var e *apiError
	if !errors.As(err, &e) {
		return err // transport or unreadable answer: temporary (or already classified)
	}
	status := e.Status
	if status < 400 {
		status = e.code() // ok=false inside a 200: trust error_code
	}
	if status == http.StatusTooManyRequests {
		// Telegram's wait is in the body, not (reliably) in a header.
		return inbox.RetryAfter(fmt.Errorf("telegram answered 429: %s", e.Description),
			time.Duration(e.RetryAfter)*time.Second)
	}
	return providerhttp.Classify(status, nil, e.Description)
}

// waitTurn waits for the chat's limit (about one message a second, 20 a
// minute in a group) and the bot's (30 a second).
func (c *Channel) waitTurn(ctx context.Context, chat string) error {
	if err := c.chatLimiter(chat).Wait(ctx); err != nil {
		return err
	}
	return c.global.Wait(ctx)
}

func (c *Channel) chatLimiter(chat string) *rate.Limiter {
	c.chatMu.Lock()
	defer c.chatMu.Unlock()
	if l, ok := c.chats[chat]; ok {
		return l
	}
	if len(c.chats) >= maxChatLimiters {
		for k, l := range c.chats {
			if l.Tokens() >= float64(l.Burst()) {
				delete(c.chats, k)
			}
		}
	}
	interval := c.chatInterval
	if strings.HasPrefix(chat, "-") {
		// Group chat ids are negative; Telegram allows a bot at most 20
		// messages a minute in one group.
		interval *= groupIntervalFactor
	}
	l := rate.NewLimiter(rate.Every(interval), 1)
	c.chats[chat] = l
	return l
}

// partial returns the provider ids of the chunks of reply id already sent.
func (c *Channel) partial(id int64) []string {
	if id == 0 {
		return nil
	}
	c.sentMu.Lock()
	defer c.sentMu.Unlock()
	return append([]string(nil), c.sent[id]...)
}

// remember records (nil: forgets) the chunks of reply id already sent. It
// lives in memory only: after a restart a half-sent reply is sent whole
// again, the one duplicate this adapter cannot rule out.
func (c *Channel) remember(id int64, ids []string) {
	if id == 0 {
		return
	}
	c.sentMu.Lock()
	defer c.sentMu.Unlock()
	if len(ids) == 0 {
		delete(c.sent, id)
		return
	}
	if len(c.sent) >= maxPartialSends {
		for k := range c.sent {
			delete(c.sent, k)
			break
		}
	}
	c.sent[id] = append([]string(nil), ids...)
}
