package viber

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// Viber's callback events.
const (
	EventMessage             = "message"
	EventDelivered           = "delivered"
	EventSeen                = "seen"
	EventFailed              = "failed"
	EventSubscribed          = "subscribed"
	EventUnsubscribed        = "unsubscribed"
	EventConversationStarted = "conversation_started"
	EventWebhook             = "webhook"
)

// callback is a Viber callback as documented for the REST bot API. Every
// number is a json.Number: message_token is a 64-bit integer that float64
// would round, and the others follow so that nothing is ever rounded.
type callback struct {
	Event        string      `json:"event"`
	Timestamp    json.Number `json:"timestamp"`
	MessageToken json.Number `json:"message_token"`
	// Sender is the author of a message event; User the subject of
	// subscribed and conversation_started; UserID of the others.
	Sender  *user    `json:"sender"`
	User    *user    `json:"user"`
	UserID  string   `json:"user_id"`
	Message *message `json:"message"`
	// Desc explains a failed event.
	Desc string `json:"desc"`
}

type user struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Avatar     string      `json:"avatar"`
	Country    string      `json:"country"`
	Language   string      `json:"language"`
	APIVersion json.Number `json:"api_version"`
}

type message struct {
	Type      string `json:"type"`
	Text      string `json:"text"`
	Media     string `json:"media"`
	Thumbnail string `json:"thumbnail"`
	FileName  string `json:"file_name"`
	// The documentation's callback table says file_size; Viber's own
	// libraries read size (the send_message name): take either.
	FileSize     json.Number `json:"file_size"`
	Size         json.Number `json:"size"`
	Duration     json.Number `json:"duration"`
	StickerID    json.Number `json:"sticker_id"`
	Location     *location   `json:"location"`
	Contact      *contact    `json:"contact"`
	TrackingData string      `json:"tracking_data"`
}

type location struct {
	Lat json.Number `json:"lat"`
	Lon json.Number `json:"lon"`
}

type contact struct {
	Name        string `json:"name"`
	PhoneNumber string `json:"phone_number"`
	Avatar      string `json:"avatar"`
}

// Normalized is what one callback asks of the journal: at most one of
// Inbound (a customer message) and Delivery (a report on one of our
// replies); neither for the events that are only acknowledged.
type Normalized struct {
	Event    string
	Inbound  *inbox.Inbound
	Delivery *inbox.DeliveryUpdate
}

// ErrMalformed wraps every reason a callback cannot be used. Each is also
// an inbox.Invalid naming the body, so the hook answers 400 invalid.
var ErrMalformed = errors.New("malformed Viber callback")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrMalformed, inbox.Invalid("body", format, args...))
}

// Normalize turns the raw body of a Viber callback into what the journal
// needs. It is pure: now stands in for a missing timestamp. Unknown
// fields are ignored and unknown events come back with neither Inbound
// nor Delivery, so that a new Viber feature is acknowledged, not retried.
func Normalize(channelID string, body []byte, now time.Time) (Normalized, error) {
	// json.Unmarshal would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return Normalized{}, malformed("is not valid UTF-8")
	}
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return Normalized{}, malformed("is not a Viber callback: %s", hooksig.JSONProblem(err))
	}
	cb.stripNUL()
	if cb.Event == "" {
		return Normalized{}, malformed("event is missing")
	}
	n := Normalized{Event: cb.Event}
	at := parseTimestamp(cb.Timestamp, now)
	switch cb.Event {
	case EventMessage:
		in, err := normalizeMessage(channelID, &cb, at)
		if err != nil {
			return Normalized{}, err
		}
		n.Inbound = in
	case EventDelivered, EventSeen, EventFailed:
		token, err := parseToken(cb.MessageToken)
		if err != nil {
			return Normalized{}, err
		}
		up := &inbox.DeliveryUpdate{ChannelID: channelID, ProviderID: token, At: at}
		switch cb.Event {
		case EventDelivered:
			up.State = inbox.DeliveryDelivered
		case EventSeen:
			up.State = inbox.DeliveryRead
		default:
			up.State = inbox.DeliveryFailed
			up.Error = cb.Desc
			if up.Error == "" {
				up.Error = "Viber reported the message as failed"
			}
		}
		n.Delivery = up
	}
	return n, nil
}

// parseToken returns a message_token as a canonical decimal string. It is
// the message's id on Viber: the inbound ExternalID, the outbound
// ProviderID.
func parseToken(n json.Number) (string, error) {
	s := string(n)
	if s == "" {
		return "", malformed("message_token is missing")
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(v, 10), nil
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return strconv.FormatUint(v, 10), nil
	}
	return "", malformed("message_token %.40q is not a 64-bit integer", s)
}

// parseTimestamp reads Viber's epoch milliseconds; fallback when absent or
// unreadable (the time of arrival is then the best we know).
func parseTimestamp(n json.Number, fallback time.Time) time.Time {
	ms, err := strconv.ParseInt(string(n), 10, 64)
	// Beyond year 9999 a time has no RFC 3339 form: treat it as unreadable.
	if err != nil || ms <= 0 || ms >= 253402300800000 {
		return fallback
	}
	return time.UnixMilli(ms).UTC()
}

func normalizeMessage(channelID string, cb *callback, at time.Time) (*inbox.Inbound, error) {
	token, err := parseToken(cb.MessageToken)
	if err != nil {
		return nil, err
	}
	if cb.Sender == nil || cb.Sender.ID == "" {
		return nil, malformed("sender.id is missing")
	}
	if cb.Message == nil {
		return nil, malformed("message is missing")
	}
	s := cb.Sender
	in := &inbox.Inbound{
		ChannelID:  channelID,
		ExternalID: token,
		Contact: inbox.ContactInfo{
			ExternalID: s.ID,
			Name:       s.Name,
			Meta:       userMeta(s),
		},
		// The sender's name when Viber shares it (set_webhook's
		// send_name), else the Viber user id, as a fallback title.
		Title:  s.Name,
		SentAt: at,
	}
	if in.Title == "" {
		in.Title = s.ID
	}
	m := cb.Message
	meta := map[string]string{"viber_type": m.Type}
	if m.TrackingData != "" {
		meta["tracking_data"] = m.TrackingData
	}
	in.Text, in.Attachments = messageContent(m, meta)
	in.Meta = meta
	return in, nil
}

// messageContent returns a message's readable text (a fallback that names
// the type when Viber sends no text) and its attachments, which stay at
// Viber (ProviderRef is the media URL). It adds type-specific fields to
// meta.
func messageContent(m *message, meta map[string]string) (string, []inbox.Attachment) {
	var atts []inbox.Attachment
	attach := func(defName, mimeType string) {
		if m.Media == "" {
			return
		}
		name := path.Base(strings.ReplaceAll(m.FileName, `\`, "/"))
		if name == "." || name == "/" {
			name = defName
		}
		if mimeType == "" {
			mimeType = mime.TypeByExtension(strings.ToLower(path.Ext(name)))
			if mimeType == "" {
				mimeType = "application/octet-stream"
			}
		}
		atts = append(atts, inbox.Attachment{
			Name:        name,
			MIMEType:    mimeType,
			Size:        max(nonNegative(m.FileSize), nonNegative(m.Size)),
			ProviderRef: m.Media,
		})
	}
	orText := func(fallback string) string {
		if strings.TrimSpace(m.Text) != "" {
			return m.Text
		}
		return fallback
	}
	switch m.Type {
	case "text":
		return orText("[empty message]"), nil
	case "picture":
		attach("picture.jpg", "image/jpeg")
		return orText("[picture]"), atts
	case "video":
		attach("video.mp4", "video/mp4")
		if d := nonNegative(m.Duration); d > 0 {
			meta["duration"] = strconv.FormatInt(d, 10)
		}
		return orText("[video]"), atts
	case "file":
		attach("file", "")
		if len(atts) > 0 {
			return orText("[file] " + atts[0].Name), atts
		}
		return orText("[file]"), nil
	case "sticker":
		if m.StickerID != "" {
			meta["sticker_id"] = string(m.StickerID)
		}
		attach("sticker.png", "image/png")
		return "[sticker]", atts
	case "contact":
		if m.Contact == nil {
			return orText("[contact]"), nil
		}
		meta["contact_name"] = m.Contact.Name
		meta["contact_phone"] = m.Contact.PhoneNumber
		return "[contact] " + joinNonEmpty(", ", m.Contact.Name, m.Contact.PhoneNumber), nil
	case "url":
		// The link is in media; text, when present, is the same link.
		if m.Media != "" {
			meta["url"] = m.Media
			return m.Media, nil
		}
		return orText("[link]"), nil
	case "location":
		if m.Location == nil || m.Location.Lat == "" || m.Location.Lon == "" {
			return orText("[location]"), nil
		}
		meta["latitude"] = string(m.Location.Lat)
		meta["longitude"] = string(m.Location.Lon)
		return fmt.Sprintf("[location] %s, %s", m.Location.Lat, m.Location.Lon), nil
	}
	// A type Viber added after this code (or rich media): keep what can
	// be read so that nothing the customer sent is dropped.
	attach("attachment", "")
	return orText(fmt.Sprintf("[unsupported Viber message: %.40s]", m.Type)), atts
}

func userMeta(u *user) map[string]string {
	meta := map[string]string{}
	for k, v := range map[string]string{
		"avatar": u.Avatar, "country": u.Country, "language": u.Language,
		"api_version": string(u.APIVersion),
	} {
		if v != "" {
			meta[k] = v
		}
	}
	if len(meta) == 0 {
		return nil
	}
	return meta
}

func nonNegative(n json.Number) int64 {
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// stripNUL removes NUL characters, which JSON allows (\u0000) but
// PostgreSQL's text refuses: left in, storing the callback would fail on
// every retry. It runs before anything reads the strings, so that the
// fallbacks see what will be stored.
func (cb *callback) stripNUL() {
	fields := []*string{&cb.Event, &cb.UserID, &cb.Desc}
	for _, u := range []*user{cb.Sender, cb.User} {
		if u != nil {
			fields = append(fields, &u.ID, &u.Name, &u.Avatar, &u.Country, &u.Language)
		}
	}
	if m := cb.Message; m != nil {
		fields = append(fields, &m.Type, &m.Text, &m.Media, &m.Thumbnail, &m.FileName, &m.TrackingData)
		if c := m.Contact; c != nil {
			fields = append(fields, &c.Name, &c.PhoneNumber, &c.Avatar)
		}
	}
	for _, f := range fields {
		if strings.IndexByte(*f, 0) >= 0 {
			*f = strings.ReplaceAll(*f, "\x00", "")
		}
	}
}
