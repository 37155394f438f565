package widget

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// Contact meta keys recorded from the visitor's browser.
const (
	MetaPageURL  = "page_url"
	MetaReferrer = "referrer"
	MetaBrowser  = "browser"
	MetaLanguage = "language"
)

// maxMetaBytes bounds each meta value: they come from the visitor.
const maxMetaBytes = 1024

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// Post is a message a visitor sends through the widget.
type Post struct {
	// ContactKey is the visitor's contact key (from its token).
	ContactKey string
	// ClientID is chosen by the widget per message and sent again on a
	// retry: the same id is the same message.
	ClientID string
	Text     string
	// Email is an optional address for a follow-up (messenger mode).
	Email string
	// Meta: page URL, referrer, browser, language.
	Meta map[string]string
}

// Inbound normalizes a visitor's post. The external id joins the contact
// key and the client id, so one visitor's ids cannot collide with (and
// never reveal) another's message.
func (c *Channel) Inbound(p Post) (inbox.Inbound, error) {
	text := strings.TrimSpace(p.Text)
	switch {
	case !clientIDPattern.MatchString(p.ClientID):
		return inbox.Inbound{}, inbox.Invalid("client_id", "must be 8 to 64 letters, digits, - or _")
	case !utf8.ValidString(text):
		return inbox.Inbound{}, inbox.Invalid("text", "is not valid UTF-8")
	case text == "":
		return inbox.Inbound{}, inbox.Invalid("text", "is required")
	case utf8.RuneCountInString(text) > c.cfg.MaxMessageLength:
		return inbox.Inbound{}, &inbox.Error{Code: inbox.ETooLarge, Field: "text",
			Message: "the message is longer than " + strconv.Itoa(c.cfg.MaxMessageLength) + " characters"}
	}
	email := strings.TrimSpace(p.Email)
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || len(email) > 254 {
			return inbox.Inbound{}, inbox.Invalid("email", "is not an email address")
		}
	}
	meta := map[string]string{}
	for k, v := range p.Meta {
		if v = cleanMeta(v); v != "" {
			meta[k] = v
		}
	}
	return inbox.Inbound{
		ChannelID:  c.id,
		ExternalID: p.ContactKey + "/" + p.ClientID,
		Contact:    inbox.ContactInfo{ExternalID: p.ContactKey, Email: email, Meta: meta},
		Text:       text,
		SentAt:     c.clock.Now(),
	}, nil
}

// cleanMeta keeps a meta value valid, single-line and bounded.
func cleanMeta(v string) string {
	v = strings.ToValidUTF8(v, "")
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
	if len(v) > maxMetaBytes {
		v = v[:maxMetaBytes]
		for !utf8.ValidString(v) {
			v = v[:len(v)-1]
		}
	}
	return strings.TrimSpace(v)
}
