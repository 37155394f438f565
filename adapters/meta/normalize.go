package meta

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// Platform is which Meta product a channel speaks for.
type Platform string

// Platforms.
const (
	Messenger Platform = KindMessenger
	Instagram Platform = KindInstagram
)

// object is the webhook's top-level "object" for the platform.
func (p Platform) object() string {
	if p == Instagram {
		return "instagram"
	}
	return "page"
}

// Batch is what one webhook body carries, normalized.
type Batch struct {
	// Messages are customer messages and edits, in the body's order.
	Messages []inbox.Inbound
	// Updates are delivery reports on our outbound messages (echoes,
	// deliveries, reads naming message ids).
	Updates []inbox.DeliveryUpdate
	// Watermarks are reports that name no message, only a time: every
	// message sent to Contact before At reached State (Messenger's read
	// and delivery watermarks).
	Watermarks []Watermark
	// Skipped says, for the log, which events were dropped and why.
	Skipped []string
}

// Watermark is a delivery report by time rather than by message id.
type Watermark struct {
	Contact string
	State   inbox.Delivery
	At      time.Time
}

// The Messenger Platform webhook format (Messenger and Instagram share it):
// https://developers.facebook.com/docs/messenger-platform/webhooks
type webhook struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        string  `json:"id"`
	Time      int64   `json:"time"`
	Messaging []event `json:"messaging"`
}

type party struct {
	ID string `json:"id"`
}

type event struct {
	Sender      party        `json:"sender"`
	Recipient   party        `json:"recipient"`
	Timestamp   int64        `json:"timestamp"`
	Message     *message     `json:"message"`
	Postback    *postback    `json:"postback"`
	Delivery    *delivery    `json:"delivery"`
	Read        *read        `json:"read"`
	Reaction    *reaction    `json:"reaction"`
	MessageEdit *messageEdit `json:"message_edit"`
}

type message struct {
	Mid           string       `json:"mid"`
	Text          string       `json:"text"`
	IsEcho        bool         `json:"is_echo"`
	IsDeleted     bool         `json:"is_deleted"`
	IsUnsupported bool         `json:"is_unsupported"`
	QuickReply    *quickReply  `json:"quick_reply"`
	Attachments   []attachment `json:"attachments"`
	ReplyTo       *replyTo     `json:"reply_to"`
}

type quickReply struct {
	Payload string `json:"payload"`
}

type replyTo struct {
	Mid   string `json:"mid"`
	Story *struct {
		URL string `json:"url"`
		ID  string `json:"id"`
	} `json:"story"`
}

type attachment struct {
	Type string `json:"type"`
	// Title and URL sit beside the payload on "fallback" attachments
	// (shared links).
	Title   string             `json:"title"`
	URL     string             `json:"url"`
	Payload *attachmentPayload `json:"payload"`
}

type attachmentPayload struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	// StickerID is a number in the documented format; RawMessage keeps a
	// surprise type from failing the whole batch.
	StickerID   json.RawMessage `json:"sticker_id"`
	Coordinates *struct {
		Lat  float64 `json:"lat"`
		Long float64 `json:"long"`
	} `json:"coordinates"`
}

type postback struct {
	Mid     string `json:"mid"`
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

type delivery struct {
	Mids      []string `json:"mids"`
	Watermark int64    `json:"watermark"`
}

type read struct {
	Mid       string `json:"mid"`
	Watermark int64  `json:"watermark"`
}

type reaction struct {
	Mid      string `json:"mid"`
	Action   string `json:"action"`
	Reaction string `json:"reaction"`
	Emoji    string `json:"emoji"`
}

type messageEdit struct {
	Mid     string `json:"mid"`
	Text    string `json:"text"`
	NumEdit int    `json:"num_edit"`
}

// Normalize turns one webhook body of platform p into a Batch for channel
// channelID. It returns an error only for a body that is not a webhook of
// this platform (malformed JSON, wrong object): single events it cannot
// use are skipped with a reason, so that one odd event does not make Meta
// retry (and eventually disable) the whole subscription.
func Normalize(p Platform, channelID string, body []byte) (Batch, error) {
	var b Batch
	if !utf8.Valid(body) {
		return b, inbox.Invalid("body", "is not valid UTF-8")
	}
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return b, inbox.Invalid("body", "%s", hooksig.JSONProblem(err))
	}
	if w.Object != p.object() {
		return b, inbox.Invalid("object", "is %.40q, not %q", w.Object, p.object())
	}
	for _, e := range w.Entry {
		for i := range e.Messaging {
			normalizeEvent(p, channelID, e.ID, &e.Messaging[i], &b)
		}
	}
	// One invalid message would fail the whole batch's transaction: drop
	// it here instead, with its reason.
	kept := b.Messages[:0]
	for _, in := range b.Messages {
		if err := in.Validate(); err != nil {
			b.Skipped = append(b.Skipped, "message "+clipName(in.ExternalID)+": "+err.Error())
			continue
		}
		kept = append(kept, in)
	}
	b.Messages = kept
	return b, nil
}

func normalizeEvent(p Platform, channelID, pageID string, ev *event, b *Batch) {
	at := millis(ev.Timestamp)
	switch {
	case ev.Message != nil && ev.Message.IsEcho:
		// Our own sends (and the page's replies from other tools) come
		// back as echoes: a report on the outbound message, never a
		// customer message.
		if ev.Message.Mid == "" {
			b.Skipped = append(b.Skipped, "echo without mid")
			return
		}
		b.Updates = append(b.Updates, inbox.DeliveryUpdate{
			ChannelID: channelID, ProviderID: ev.Message.Mid, State: inbox.DeliverySent, At: at,
		})
	case ev.Delivery != nil:
		dat := at
		if ev.Delivery.Watermark > 0 {
			dat = millis(ev.Delivery.Watermark)
		}
		for _, mid := range ev.Delivery.Mids {
			if mid != "" {
				b.Updates = append(b.Updates, inbox.DeliveryUpdate{
					ChannelID: channelID, ProviderID: mid, State: inbox.DeliveryDelivered, At: dat,
				})
			}
		}
		if len(ev.Delivery.Mids) == 0 && ev.Delivery.Watermark > 0 && ev.Sender.ID != "" {
			b.Watermarks = append(b.Watermarks, Watermark{Contact: ev.Sender.ID, State: inbox.DeliveryDelivered, At: dat})
		}
	case ev.Read != nil:
		switch {
		case ev.Read.Mid != "": // Instagram names the message
			b.Updates = append(b.Updates, inbox.DeliveryUpdate{
				ChannelID: channelID, ProviderID: ev.Read.Mid, State: inbox.DeliveryRead, At: at,
			})
		case ev.Read.Watermark > 0 && ev.Sender.ID != "": // Messenger only a time
			b.Watermarks = append(b.Watermarks, Watermark{Contact: ev.Sender.ID, State: inbox.DeliveryRead, At: millis(ev.Read.Watermark)})
		default:
			b.Skipped = append(b.Skipped, "read event without mid or watermark")
		}
	case ev.Sender.ID == "" || (pageID != "" && ev.Sender.ID == pageID):
		b.Skipped = append(b.Skipped, "event without a customer sender")
	case ev.MessageEdit != nil:
		if ev.MessageEdit.Mid == "" {
			b.Skipped = append(b.Skipped, "message_edit without mid")
			return
		}
		in := base(channelID, ev, ev.MessageEdit.Mid, at)
		in.Kind = inbox.InboundEdit
		in.Text = clip(ev.MessageEdit.Text)
		b.Messages = append(b.Messages, in)
	case ev.Message != nil:
		normalizeMessage(p, channelID, ev, at, b)
	case ev.Postback != nil:
		id := ev.Postback.Mid
		if id == "" {
			// Older postbacks carry no mid; sender and time identify the
			// tap, and stay the same when Meta retries the delivery.
			id = "postback:" + ev.Sender.ID + ":" + strconv.FormatInt(ev.Timestamp, 10)
		}
		in := base(channelID, ev, id, at)
		in.Text = clip(firstNonEmpty(ev.Postback.Title, ev.Postback.Payload, "[button]"))
		in.Meta = map[string]string{"postback_payload": ev.Postback.Payload}
		b.Messages = append(b.Messages, in)
	case ev.Reaction != nil:
		r := ev.Reaction
		if r.Mid == "" {
			b.Skipped = append(b.Skipped, "reaction without mid")
			return
		}
		in := base(channelID, ev, "reaction:"+r.Mid+":"+ev.Sender.ID+":"+r.Action+":"+strconv.FormatInt(ev.Timestamp, 10), at)
		if r.Action == "unreact" {
			in.Text = "Removed a reaction"
		} else {
			in.Text = clip("Reacted " + firstNonEmpty(r.Emoji, r.Reaction, "to a message") + " to a message")
		}
		in.Meta = map[string]string{"reaction_to": r.Mid}
		b.Messages = append(b.Messages, in)
	default:
		// optins, referrals, handovers, account linking...: nothing to
		// show in a conversation.
		b.Skipped = append(b.Skipped, "event of no handled type")
	}
}

func normalizeMessage(p Platform, channelID string, ev *event, at time.Time, b *Batch) {
	m := ev.Message
	if m.Mid == "" {
		b.Skipped = append(b.Skipped, "message without mid")
		return
	}
	in := base(channelID, ev, m.Mid, at)
	if m.IsDeleted {
		// Instagram's "unsend": replace what we showed rather than add a
		// message.
		in.Kind = inbox.InboundEdit
		in.Text = "[message deleted by the customer]"
		b.Messages = append(b.Messages, in)
		return
	}
	var lines []string
	if m.Text != "" {
		lines = append(lines, m.Text)
	}
	meta := map[string]string{}
	if m.QuickReply != nil && m.QuickReply.Payload != "" {
		meta["quick_reply_payload"] = m.QuickReply.Payload
		if m.Text == "" {
			lines = append(lines, m.QuickReply.Payload)
		}
	}
	if m.ReplyTo != nil {
		if m.ReplyTo.Mid != "" {
			meta["reply_to"] = m.ReplyTo.Mid
		}
		if m.ReplyTo.Story != nil && m.ReplyTo.Story.URL != "" {
			meta["reply_to_story"] = m.ReplyTo.Story.URL
			lines = append(lines, "(replied to your story)")
		}
	}
	for _, a := range m.Attachments {
		if len(in.Attachments) >= inbox.MaxAttachments {
			b.Skipped = append(b.Skipped, "attachments over the limit")
			break
		}
		att, line := normalizeAttachment(a)
		if att != nil {
			in.Attachments = append(in.Attachments, *att)
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	if m.IsUnsupported {
		lines = append(lines, "[a message type inboxd cannot show; open it in the app]")
	}
	in.Text = clip(strings.Join(lines, "\n"))
	if in.Text == "" && len(in.Attachments) == 0 {
		in.Text = "[empty message]"
	}
	if len(meta) > 0 {
		in.Meta = meta
	}
	b.Messages = append(b.Messages, in)
}

// normalizeAttachment returns the file to keep (nil: none) and a line of
// text for what is not a file (a location, a shared link).
func normalizeAttachment(a attachment) (*inbox.Attachment, string) {
	var pl attachmentPayload
	if a.Payload != nil {
		pl = *a.Payload
	}
	typ := strings.ToLower(a.Type)
	switch typ {
	case "location":
		if pl.Coordinates != nil {
			c := pl.Coordinates
			return nil, fmt.Sprintf("Location: %.6f, %.6f https://maps.google.com/?q=%.6f,%.6f", c.Lat, c.Long, c.Lat, c.Long)
		}
		return nil, firstNonEmpty(pl.URL, "[location]")
	case "fallback":
		return nil, strings.TrimSpace(firstNonEmpty(a.Title, pl.Title) + " " + firstNonEmpty(a.URL, pl.URL))
	}
	u := firstNonEmpty(pl.URL, a.URL)
	if u == "" || !httpURL(u) {
		return nil, "[" + firstNonEmpty(typ, "attachment") + " without a link]"
	}
	name := typ
	if stickerID := strings.Trim(string(pl.StickerID), `"`); stickerID != "" && stickerID != "null" {
		name = "sticker"
	}
	if base := fileName(u); base != "" {
		name = base
	}
	line := ""
	switch typ {
	case "story_mention":
		line = "(mentioned you in their story)"
	case "share", "ig_reel", "reel":
		line = firstNonEmpty(pl.Title, "(shared a post)")
	}
	return &inbox.Attachment{Name: clipName(name), MIMEType: mimeFor(typ), ProviderRef: u}, line
}

// base is the part every customer message shares.
func base(channelID string, ev *event, id string, at time.Time) inbox.Inbound {
	return inbox.Inbound{
		ChannelID:  channelID,
		ExternalID: id,
		Contact:    inbox.ContactInfo{ExternalID: ev.Sender.ID},
		SentAt:     at,
	}
}

// fileName is the last path segment of u when it looks like a file name.
func fileName(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	b := path.Base(pu.Path)
	if b == "." || b == "/" || !strings.Contains(b, ".") || !utf8.ValidString(b) {
		return ""
	}
	return b
}

func httpURL(u string) bool {
	pu, err := url.Parse(u)
	return err == nil && (pu.Scheme == "https" || pu.Scheme == "http") && pu.Host != ""
}

// mimeFor is the broad type the attachment kind implies; the fetch
// answers the exact one.
func mimeFor(typ string) string {
	switch typ {
	case "image":
		return "image/*"
	case "video", "ig_reel", "reel":
		return "video/*"
	case "audio":
		return "audio/*"
	}
	return "application/octet-stream"
}

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// clip cuts s to inbox.MaxTextBytes on a rune boundary.
func clip(s string) string {
	if len(s) <= inbox.MaxTextBytes {
		return s
	}
	s = s[:inbox.MaxTextBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func clipName(s string) string {
	const max = 255
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
