package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// Batch is what one webhook body carries, normalized.
type Batch struct {
	// Messages are customer messages, in the body's order.
	Messages []inbox.Inbound
	// Updates are the statuses of our outbound messages.
	Updates []inbox.DeliveryUpdate
	// Skipped says, for the log, what was dropped and why.
	Skipped []string
}

// The Cloud API webhook format:
// https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []message  `json:"messages"`
	Statuses []status   `json:"statuses"`
	Errors   []apiError `json:"errors"`
}

type message struct {
	From      string   `json:"from"`
	ID        string   `json:"id"`
	Timestamp unixTime `json:"timestamp"`
	Type      string   `json:"type"`
	Context   *struct {
		From                string `json:"from"`
		ID                  string `json:"id"`
		Forwarded           bool   `json:"forwarded"`
		FrequentlyForwarded bool   `json:"frequently_forwarded"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Contacts    []sharedContact `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
		NfmReply *struct {
			Name string `json:"name"`
			Body string `json:"body"`
		} `json:"nfm_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Order *struct {
		Text         string            `json:"text"`
		ProductItems []json.RawMessage `json:"product_items"`
	} `json:"order"`
	System *struct {
		Body string `json:"body"`
	} `json:"system"`
	Referral *struct {
		SourceURL string `json:"source_url"`
		Headline  string `json:"headline"`
	} `json:"referral"`
	Errors []apiError `json:"errors"`
}

type media struct {
	ID       string `json:"id"`
	MIMEType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type sharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		WaID  string `json:"wa_id"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
}

type status struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	Timestamp   unixTime   `json:"timestamp"`
	RecipientID string     `json:"recipient_id"`
	Errors      []apiError `json:"errors"`
}

// apiError is an error inside a webhook (a failed status, an unsupported
// message).
type apiError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (e apiError) text() string {
	s := e.Title
	for _, more := range []string{e.Message, e.ErrorData.Details} {
		if more != "" && !strings.Contains(s, more) {
			if s != "" {
				s += ": "
			}
			s += more
		}
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	return strings.TrimSpace(s)
}

// unixTime is the Cloud API's timestamp: unix seconds in a string. A
// number is taken too, and anything else is "unknown" rather than a
// reason to drop the batch.
type unixTime struct{ time.Time }

func (t *unixTime) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<40 {
		t.Time = time.Unix(n, 0).UTC()
	}
	return nil
}

// Normalize turns one webhook body into a Batch for channel channelID,
// keeping only the changes addressed to phoneNumberID (one app may serve
// several numbers, each its own channel). It returns an error only for a
// body that is not a WhatsApp webhook; single items it cannot use are
// skipped with a reason.
func Normalize(phoneNumberID, channelID string, body []byte) (Batch, error) {
	var b Batch
	if !utf8.Valid(body) {
		return b, inbox.Invalid("body", "is not valid UTF-8")
	}
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return b, inbox.Invalid("body", "%s", hooksig.JSONProblem(err))
	}
	if w.Object != "whatsapp_business_account" {
		return b, inbox.Invalid("object", "is %.40q, not %q", w.Object, "whatsapp_business_account")
	}
	for _, e := range w.Entry {
		for _, ch := range e.Changes {
			v := &ch.Value
			switch {
			case ch.Field != "messages":
				b.Skipped = append(b.Skipped, "change field "+clip(ch.Field, 64))
			case v.Metadata.PhoneNumberID != phoneNumberID:
				b.Skipped = append(b.Skipped, "change for phone number "+clip(v.Metadata.PhoneNumberID, 64))
			default:
				normalizeValue(channelID, v, &b)
			}
		}
	}
	// One invalid message would fail the whole batch's transaction: drop
	// it here instead, with its reason.
	kept := b.Messages[:0]
	for _, in := range b.Messages {
		if err := in.Validate(); err != nil {
			b.Skipped = append(b.Skipped, "message "+clip(in.ExternalID, 128)+": "+err.Error())
			continue
		}
		kept = append(kept, in)
	}
	b.Messages = kept
	return b, nil
}

func normalizeValue(channelID string, v *value, b *Batch) {
	for _, e := range v.Errors {
		b.Skipped = append(b.Skipped, "error notification: "+e.text())
	}
	for _, s := range v.Statuses {
		st, ok := map[string]inbox.Delivery{
			"sent": inbox.DeliverySent, "delivered": inbox.DeliveryDelivered,
			"read": inbox.DeliveryRead, "failed": inbox.DeliveryFailed,
		}[s.Status]
		if !ok || s.ID == "" {
			b.Skipped = append(b.Skipped, "status "+clip(s.Status, 32))
			continue
		}
		u := inbox.DeliveryUpdate{ChannelID: channelID, ProviderID: s.ID, State: st, At: s.Timestamp.Time}
		if st == inbox.DeliveryFailed {
			var reasons []string
			for _, e := range s.Errors {
				reasons = append(reasons, e.text())
			}
			u.Error = clip(strings.Join(reasons, "; "), 1024)
			if u.Error == "" {
				u.Error = "WhatsApp reported the message as failed"
			}
		}
		b.Updates = append(b.Updates, u)
	}
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[c.WaID] = c.Profile.Name
	}
	for i := range v.Messages {
		m := &v.Messages[i]
		if m.ID == "" || m.From == "" {
			b.Skipped = append(b.Skipped, "message without id or sender")
			continue
		}
		name, ok := names[m.From]
		if !ok && len(v.Contacts) == 1 {
			name = v.Contacts[0].Profile.Name
		}
		b.Messages = append(b.Messages, normalizeMessage(channelID, m, strings.TrimSpace(name)))
	}
}

func normalizeMessage(channelID string, m *message, name string) inbox.Inbound {
	in := inbox.Inbound{
		ChannelID:  channelID,
		ExternalID: m.ID,
		Contact:    inbox.ContactInfo{ExternalID: m.From, Name: clip(name, 256), Phone: "+" + m.From},
		SentAt:     m.Timestamp.Time,
	}
	if in.Contact.Name == "" {
		in.Title = m.From
	}
	meta := map[string]string{"type": clip(m.Type, 64)}
	var text string
	attach := func(md *media, kind string) {
		if md == nil {
			text = "[" + kind + "]"
			return
		}
		text = md.Caption
		if md.ID == "" {
			text = strings.TrimSpace(text + "\n[" + kind + " without a media id]")
			return
		}
		in.Attachments = append(in.Attachments, inbox.Attachment{
			Name: fileName(md, kind), MIMEType: clip(md.MIMEType, 128), ProviderRef: md.ID,
		})
		if kind == "audio" && md.Voice {
			meta["voice"] = "true"
		}
	}
	switch m.Type {
	case "text":
		if m.Text != nil {
			text = m.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		attach(map[string]*media{"image": m.Image, "video": m.Video, "audio": m.Audio, "document": m.Document, "sticker": m.Sticker}[m.Type], m.Type)
	case "location":
		if l := m.Location; l != nil {
			text = strings.TrimSpace(fmt.Sprintf("Location: %s %s", l.Name, l.Address))
			text += fmt.Sprintf(" %.6f, %.6f https://maps.google.com/?q=%.6f,%.6f", l.Latitude, l.Longitude, l.Latitude, l.Longitude)
		}
	case "contacts":
		var lines []string
		for _, c := range m.Contacts {
			parts := []string{c.Name.FormattedName}
			for _, p := range c.Phones {
				parts = append(parts, p.Phone)
			}
			for _, e := range c.Emails {
				parts = append(parts, e.Email)
			}
			lines = append(lines, "Shared contact: "+strings.Join(nonEmpty(parts), ", "))
		}
		text = strings.Join(lines, "\n")
	case "interactive":
		if it := m.Interactive; it != nil {
			switch {
			case it.ButtonReply != nil:
				text, meta["reply_id"] = it.ButtonReply.Title, it.ButtonReply.ID
			case it.ListReply != nil:
				text, meta["reply_id"] = strings.Join(nonEmpty([]string{it.ListReply.Title, it.ListReply.Description}), " — "), it.ListReply.ID
			case it.NfmReply != nil:
				text = "Form reply: " + firstNonEmpty(it.NfmReply.Body, it.NfmReply.Name)
			}
		}
	case "button":
		if m.Button != nil {
			text, meta["button_payload"] = firstNonEmpty(m.Button.Text, m.Button.Payload), m.Button.Payload
		}
	case "reaction":
		if r := m.Reaction; r != nil {
			meta["reaction_to"] = r.MessageID
			if r.Emoji == "" {
				text = "Removed a reaction"
			} else {
				text = "Reacted " + r.Emoji + " to a message"
			}
		}
	case "order":
		if o := m.Order; o != nil {
			text = strings.TrimSpace(fmt.Sprintf("Order of %d item(s) %s", len(o.ProductItems), o.Text))
		}
	case "system":
		if m.System != nil {
			text = "[system] " + m.System.Body
		}
	}
	if text == "" && len(in.Attachments) == 0 {
		// unsupported, unknown and future types: say what it was, with
		// WhatsApp's own explanation when it gave one.
		text = "[" + firstNonEmpty(m.Type, "unknown") + " message]"
		for _, e := range m.Errors {
			text += " " + e.text()
		}
	}
	if c := m.Context; c != nil {
		if c.ID != "" {
			meta["reply_to"] = c.ID
		}
		if c.Forwarded || c.FrequentlyForwarded {
			meta["forwarded"] = "true"
		}
	}
	if m.Referral != nil && m.Referral.SourceURL != "" {
		meta["referral_source_url"] = m.Referral.SourceURL
	}
	for k, v := range meta {
		if v == "" {
			delete(meta, k)
		}
	}
	in.Text = clip(text, inbox.MaxTextBytes)
	in.Meta = meta
	return in
}

// fileName is the document's own name, or one made of the kind and the
// MIME type's usual extension.
func fileName(md *media, kind string) string {
	if md.Filename != "" {
		return clip(md.Filename, 255)
	}
	mt, _, _ := strings.Cut(md.MIMEType, ";")
	// A fixed table rather than mime.ExtensionsByType, whose answer
	// depends on the machine's mime.types.
	return kind + extensions[strings.ToLower(strings.TrimSpace(mt))]
}

// extensions are the media types the Cloud API documents as supported.
var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
	"video/mp4": ".mp4", "video/3gpp": ".3gp",
	"audio/aac": ".aac", "audio/amr": ".amr", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/ogg": ".ogg",
	"application/pdf": ".pdf", "text/plain": ".txt",
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// clip cuts s to max bytes on a rune boundary.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
