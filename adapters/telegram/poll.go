package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/inbox"
)

// CursorKey names the channel's saved getUpdates offset (the next update id
// to ask for) in the store.
const CursorKey = "offset"

const (
	// pollLimit is getUpdates' batch size (Telegram's maximum).
	pollLimit = 100
	// failuresBeforeUnhealthy: a single network blip does not flip /readyz.
	failuresBeforeUnhealthy = 3
	// logEvery rate-limits the log line of a problem that repeats.
	logEvery = time.Minute
)

// allowedUpdates are the update kinds inboxd asks for; Telegram remembers
// the list, and anything else that still arrives is dropped.
var allowedUpdates = []string{"message", "edited_message"}

// Run receives updates until ctx is done. In polling mode it long-polls
// getUpdates; in webhook mode it registers the webhook with Telegram and
// waits. Upstream errors never end it: they are retried with backoff and
// reported through Health and a rate-limited log line.
func (c *Channel) Run(ctx context.Context) error {
	if c.cfg.Mode == ModeWebhook {
		return c.runWebhook(ctx)
	}
	return c.runPolling(ctx)
}

// runPolling polls with getUpdates itself rather than through the
// library's GetUpdatesChan: that one confirms an update (by asking for the
// next offset) as soon as it is read and keeps the offset in memory, so a
// crash loses whatever was read but not yet stored. Here the offset is
// saved in the same transaction as the messages it covers, and Telegram
// learns it only by the next getUpdates, after the commit. An update
// fetched twice (a crash after the commit, before the next call) is
// absorbed by the store's unique (channel, external id).
func (c *Channel) runPolling(ctx context.Context) error {
	up := c.newUpstream()
	for {
		err := c.preparePolling(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !sleep(ctx, up.failed(err)) {
			return nil
		}
	}
	offset, err := c.loadOffset(ctx, up)
	if err != nil {
		return nil // ctx done
	}
	// Store failures back off on their own: a successful getUpdates
	// between two failed commits must not reset their wait.
	storeWait := backoff{min: c.backoffMin, max: c.backoffMax}
	for {
		updates, err := c.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !sleep(ctx, up.failed(err)) {
				return nil
			}
			continue
		}
		up.ok()
		fetched := c.clock.Now()
		if len(updates) == 0 {
			c.poll.Polled(c.id, fetched, 0)
			continue
		}
		next, err := c.commit(ctx, updates, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Not confirmed upstream: the next getUpdates with the same
			// offset returns the same updates.
			wait := storeWait.next()
			up.logf("store", "telegram: storing updates failed, will fetch them again",
				"err", err, "updates", len(updates), "offset", offset, "retry_in", wait.String())
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		storeWait.reset()
		offset = next
		c.poll.Polled(c.id, c.clock.Now(), batchLag(updates, fetched))
	}
}

// batchLag is how far behind Telegram the poller was when it fetched a
// batch: the age, at the fetch, of the batch's oldest message (by its date,
// or its edit date for an edit; Telegram gives seconds). Updates without a
// message count for nothing.
func batchLag(updates []polled, fetched time.Time) time.Duration {
	var lag time.Duration
	for _, p := range updates {
		if p.Err != nil {
			continue
		}
		for _, m := range []*tgbotapi.Message{p.Update.Message, p.Update.EditedMessage,
			p.Update.ChannelPost, p.Update.EditedChannelPost} {
			if m == nil {
				continue
			}
			at := m.Date
			if m.EditDate != 0 {
				at = m.EditDate
			}
			if at > 0 {
				lag = max(lag, fetched.Sub(unixTime(at)))
			}
		}
	}
	return lag
}

// preparePolling checks the token and removes a webhook left from webhook
// mode: while one is set, getUpdates answers 409.
func (c *Channel) preparePolling(ctx context.Context) error {
	var me tgbotapi.User
	if err := c.callShort(ctx, "getMe", nil, &me); err != nil {
		return err
	}
	if err := c.callShort(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil); err != nil {
		return err
	}
	c.log.Info("telegram: polling", "bot_username", me.UserName, "poll_timeout_s", c.cfg.PollTimeout)
	return nil
}

// loadOffset reads the saved offset, retrying while the store is down.
func (c *Channel) loadOffset(ctx context.Context, up *upstream) (int, error) {
	for {
		v, err := c.ingest.Cursor(ctx, c.id, CursorKey)
		if err == nil {
			if v == "" {
				return 0, nil
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 0 {
				// Starting over refetches what Telegram still holds;
				// the unique key absorbs repeats.
				c.log.Warn("telegram: unreadable saved offset, starting from the oldest pending update", "offset", v)
				return 0, nil
			}
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		wait := up.backoff.next()
		up.logf("store", "telegram: reading the saved offset failed", "err", err, "retry_in", wait.String())
		if !sleep(ctx, wait) {
			return 0, ctx.Err()
		}
	}
}

// polled is one update of a getUpdates answer. Err is set when its
// payload does not fit the library's types (a field Telegram added or
// changed): such an update is dropped, not allowed to block the ones
// after it.
type polled struct {
	ID     int
	Update tgbotapi.Update
	Err    error
}

// getUpdates long-polls for updates from offset on. Asking for offset
// confirms, at Telegram, every update below it.
func (c *Channel) getUpdates(ctx context.Context, offset int) ([]polled, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.cfg.PollTimeout)*time.Second+callTimeout)
	defer cancel()
	params := map[string]any{
		"timeout":         c.cfg.PollTimeout,
		"limit":           pollLimit,
		"allowed_updates": allowedUpdates,
	}
	if offset > 0 {
		params["offset"] = offset
	}
	var raws []json.RawMessage
	if err := c.call(ctx, "getUpdates", params, &raws); err != nil {
		return nil, err
	}
	out := make([]polled, 0, len(raws))
	for _, raw := range raws {
		var id struct {
			UpdateID *int `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &id); err != nil || id.UpdateID == nil {
			return nil, fmt.Errorf("telegram getUpdates: an update without update_id")
		}
		p := polled{ID: *id.UpdateID}
		p.Err = json.Unmarshal(raw, &p.Update)
		out = append(out, p)
	}
	return out, nil
}

// commit journals a batch and, in the same transaction, the offset past
// it; it returns that offset. Updates inboxd does not keep still move the
// offset, so that they are confirmed and not fetched again.
func (c *Channel) commit(ctx context.Context, updates []polled, offset int) (int, error) {
	next := offset
	ins := make([]inbox.Inbound, 0, len(updates))
	for _, p := range updates {
		if p.ID >= next {
			next = p.ID + 1
		}
		if p.Err != nil {
			c.log.Warn("telegram: unreadable update dropped", "update_id", p.ID, "err", p.Err)
			continue
		}
		u := p.Update
		in, ok := Normalize(c.id, u, c.cfg.Groups)
		if !ok {
			c.log.Debug("telegram: update dropped", "update_id", u.UpdateID, "update_kind", updateKind(u))
			continue
		}
		// One unusable message must not block every later one: a batch
		// that fails validation would be fetched and refused forever.
		if err := in.Validate(); err != nil {
			c.log.Warn("telegram: update unusable, dropped", "update_id", u.UpdateID, "err", err)
			continue
		}
		ins = append(ins, in)
	}
	cur := inbox.Cursor{ChannelID: c.id, Key: CursorKey, Value: strconv.Itoa(next)}
	if len(ins) == 0 {
		return next, c.ingest.SaveCursor(ctx, cur)
	}
	_, err := c.ingest.IngestBatch(ctx, ins, &cur)
	if code := inbox.ErrorCode(err); code == inbox.EInvalid || code == inbox.ETooLarge {
		err = c.commitEach(ctx, ins, cur)
	}
	if err != nil {
		return offset, err
	}
	return next, nil
}

// commitEach stores a batch the store refused as a whole one message at a
// time, dropping the ones it refuses, then the offset. It is not atomic,
// and need not be: a crash before the offset is saved refetches the batch,
// and the unique key absorbs what was already stored.
func (c *Channel) commitEach(ctx context.Context, ins []inbox.Inbound, cur inbox.Cursor) error {
	for _, in := range ins {
		_, err := c.ingest.Ingest(ctx, in)
		switch code := inbox.ErrorCode(err); {
		case err == nil:
		case code == inbox.EInvalid || code == inbox.ETooLarge:
			c.log.Warn("telegram: message refused by the store, dropped", "external_id", in.ExternalID, "err", err)
		default:
			return err
		}
	}
	return c.ingest.SaveCursor(ctx, cur)
}

// updateKind names an update's payload for the logs.
func updateKind(u tgbotapi.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil:
		return "channel_post"
	case u.EditedChannelPost != nil:
		return "edited_channel_post"
	case u.InlineQuery != nil:
		return "inline_query"
	case u.ChosenInlineResult != nil:
		return "chosen_inline_result"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.ShippingQuery != nil:
		return "shipping_query"
	case u.PreCheckoutQuery != nil:
		return "pre_checkout_query"
	case u.Poll != nil:
		return "poll"
	case u.PollAnswer != nil:
		return "poll_answer"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatMember != nil:
		return "chat_member"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	}
	return "unknown"
}

// upstream tracks failures of calls to Telegram: backoff, health and
// rate-limited logging. It belongs to the one goroutine that runs Run.
type upstream struct {
	c        *Channel
	backoff  backoff
	failures int
	lastLog  map[string]time.Time
	quiet    map[string]int // repeats not logged since the last line
}

func (c *Channel) newUpstream() *upstream {
	return &upstream{
		c:       c,
		backoff: backoff{min: c.backoffMin, max: c.backoffMax},
		lastLog: map[string]time.Time{},
		quiet:   map[string]int{},
	}
}

// failed records a failed call and returns how long to wait.
func (u *upstream) failed(err error) time.Duration {
	u.failures++
	wait := u.backoff.next()
	if ra := retryAfter(err); ra > wait {
		wait = ra
	}
	class, health := "error", err
	switch code := apiCode(err); {
	case code == 409:
		class = "conflict"
		health = fmt.Errorf("telegram: 409 Conflict: another process uses this bot token (a second poller, or a webhook): %w", err)
	case code == 401 || code == 404:
		class = "token"
		health = fmt.Errorf("telegram: the bot token was rejected: %w", err)
	case u.failures < failuresBeforeUnhealthy:
		health = nil
	}
	if health != nil {
		u.c.health.set(health)
	}
	u.logf(class, "telegram: call failed, retrying", "err", err, "retry_in", wait.String(), "failures", u.failures)
	return wait
}

// ok records a successful call.
func (u *upstream) ok() {
	if u.failures > 0 {
		u.c.log.Info("telegram: reachable again", "failures", u.failures)
	}
	u.failures = 0
	u.backoff.reset()
	u.c.health.set(nil)
}

// logf logs at most once per logEvery for each class of problem, with the
// number of repeats it kept quiet, so that a lasting conflict is one line
// a minute, not one per retry.
func (u *upstream) logf(class, msg string, args ...any) {
	now := u.c.clock.Now()
	last, seen := u.lastLog[class]
	if seen && now.Sub(last) < logEvery {
		u.quiet[class]++
		return
	}
	quiet := u.quiet[class]
	u.lastLog[class] = now
	u.quiet[class] = 0
	u.c.log.Error(msg, append(args, "problem", class, "repeats_not_logged", quiet)...)
}

// backoff doubles from min to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
