package telegram

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/inbox"
)

// Normalize turns one Telegram update into an Inbound for channelID. It
// returns ok=false for updates inboxd does not journal (callback queries,
// channel posts, service messages, group chats when groups is "ignore");
// the caller acknowledges those anyway. groups is "ignore" or
// "conversation". It is pure: no I/O, no clock.
//
// ExternalID is "<chat id>:<message id>": Telegram numbers messages per
// chat, so the pair is unique on the bot, and an edited_message names the
// original message with the same pair.
func Normalize(channelID string, u tgbotapi.Update, groups string) (inbox.Inbound, bool) {
	m, kind := u.Message, inbox.InboundMessage
	if m == nil {
		m, kind = u.EditedMessage, inbox.InboundEdit
	}
	if m == nil || m.Chat == nil {
		return inbox.Inbound{}, false
	}
	in := inbox.Inbound{
		Kind:       kind,
		ChannelID:  channelID,
		ExternalID: strconv.FormatInt(m.Chat.ID, 10) + ":" + strconv.Itoa(m.MessageID),
		SentAt:     unixTime(m.Date),
		Meta:       map[string]string{"chat_type": m.Chat.Type},
	}
	if kind == inbox.InboundEdit && m.EditDate != 0 {
		in.SentAt = unixTime(m.EditDate)
	}
	if m.ReplyToMessage != nil {
		in.Meta["reply_to"] = strconv.FormatInt(m.Chat.ID, 10) + ":" + strconv.Itoa(m.ReplyToMessage.MessageID)
	}
	if m.MediaGroupID != "" {
		in.Meta["media_group_id"] = clean(m.MediaGroupID, 128)
	}
	text, atts := content(m)
	if text == "" && len(atts) == 0 {
		return inbox.Inbound{}, false // a service message: someone joined, a title changed
	}
	switch m.Chat.Type {
	case "private":
		in.Contact = privateContact(m)
		in.Title = in.Contact.Name
		if in.Contact.Username != "" {
			in.Title = "@" + in.Contact.Username
		}
	case "group", "supergroup":
		if groups != GroupsConversation {
			return inbox.Inbound{}, false
		}
		// One conversation per group: the group is the contact, and the
		// chat id is also the thread key the sender replies to. Who wrote
		// each message goes into its text and meta.
		chatID := strconv.FormatInt(m.Chat.ID, 10)
		name := clean(m.Chat.Title, 256)
		if name == "" {
			name = "Telegram group " + chatID
		}
		in.Contact = inbox.ContactInfo{ExternalID: chatID, Name: name, Username: clean(m.Chat.UserName, 256)}
		in.ThreadKey = chatID
		in.Title = name
		if m.From != nil {
			author := userName(m.From)
			in.Meta["from_id"] = strconv.FormatInt(m.From.ID, 10)
			in.Meta["from_name"] = author
			if m.From.UserName != "" {
				in.Meta["from_username"] = clean(m.From.UserName, 256)
			}
			text = author + ": " + text
		}
	default:
		return inbox.Inbound{}, false // channels post through channel_post; anything else is unknown
	}
	in.Text = truncate(text, inbox.MaxTextBytes)
	in.Attachments = atts
	return in, true
}

// privateContact is the customer of a private chat: the chat id is the
// user's id and the address replies go to.
func privateContact(m *tgbotapi.Message) inbox.ContactInfo {
	c := inbox.ContactInfo{
		ExternalID: strconv.FormatInt(m.Chat.ID, 10),
		Name:       clean(strings.TrimSpace(m.Chat.FirstName+" "+m.Chat.LastName), 256),
		Username:   clean(m.Chat.UserName, 256),
	}
	if m.From != nil {
		if c.Name == "" {
			c.Name = userName(m.From)
		}
		if c.Username == "" {
			c.Username = clean(m.From.UserName, 256)
		}
		if m.From.LanguageCode != "" {
			c.Meta = map[string]string{"language_code": clean(m.From.LanguageCode, 35)}
		}
	}
	if c.Name == "" {
		c.Name = "Telegram user " + c.ExternalID
	}
	return c
}

// userName is "First Last", else "@username", else the user id.
func userName(u *tgbotapi.User) string {
	if n := clean(strings.TrimSpace(u.FirstName+" "+u.LastName), 256); n != "" {
		return n
	}
	if u.UserName != "" {
		return "@" + clean(u.UserName, 256)
	}
	return "user " + strconv.FormatInt(u.ID, 10)
}

// content renders a message as text an agent can read (media become a
// bracketed label before the caption) and lists its file as an attachment
// kept at Telegram (ProviderRef is the file id, fetched on demand).
func content(m *tgbotapi.Message) (string, []inbox.Attachment) {
	var label string
	var att *inbox.Attachment
	switch {
	case len(m.Photo) > 0:
		p := largestPhoto(m.Photo)
		label = "[photo]"
		att = attachment(p.FileID, "photo.jpg", "image/jpeg", p.FileSize)
	case m.Animation != nil: // Telegram also fills document for animations: check first
		a := m.Animation
		label = "[animation]"
		att = attachment(a.FileID, orDefault(a.FileName, "animation.mp4"), orDefault(a.MimeType, "video/mp4"), a.FileSize)
	case m.Document != nil:
		d := m.Document
		name := orDefault(d.FileName, "document")
		label = "[document: " + clean(name, 256) + "]"
		att = attachment(d.FileID, name, orDefault(d.MimeType, "application/octet-stream"), d.FileSize)
	case m.Voice != nil:
		v := m.Voice
		label = "[voice message, " + duration(v.Duration) + "]"
		att = attachment(v.FileID, "voice.ogg", orDefault(v.MimeType, "audio/ogg"), v.FileSize)
	case m.Audio != nil:
		a := m.Audio
		title := strings.TrimSpace(strings.Trim(a.Performer+" - "+a.Title, " -"))
		if title == "" {
			title = orDefault(a.FileName, "audio")
		}
		label = "[audio: " + clean(title, 256) + "]"
		att = attachment(a.FileID, orDefault(a.FileName, "audio.mp3"), orDefault(a.MimeType, "audio/mpeg"), a.FileSize)
	case m.Video != nil:
		v := m.Video
		label = "[video, " + duration(v.Duration) + "]"
		att = attachment(v.FileID, orDefault(v.FileName, "video.mp4"), orDefault(v.MimeType, "video/mp4"), v.FileSize)
	case m.VideoNote != nil:
		v := m.VideoNote
		label = "[video message, " + duration(v.Duration) + "]"
		att = attachment(v.FileID, "video_note.mp4", "video/mp4", v.FileSize)
	case m.Sticker != nil:
		s := m.Sticker
		label = "[sticker]"
		if s.Emoji != "" {
			label = "[sticker " + clean(s.Emoji, 32) + "]"
		}
		name, mime := "sticker.webp", "image/webp"
		if s.IsAnimated {
			name, mime = "sticker.tgs", "application/x-tgsticker"
		}
		att = attachment(s.FileID, name, mime, s.FileSize)
	case m.Venue != nil: // venues carry a location too: check first
		v := m.Venue
		label = fmt.Sprintf("[venue: %s, %s] %s", clean(v.Title, 256), clean(v.Address, 512), coords(v.Location))
	case m.Location != nil:
		label = "[location] " + coords(*m.Location)
	case m.Contact != nil:
		ct := m.Contact
		label = "[contact: " + clean(strings.TrimSpace(ct.FirstName+" "+ct.LastName), 256) + ", " + clean(ct.PhoneNumber, 64) + "]"
	case m.Poll != nil:
		label = "[poll: " + clean(m.Poll.Question, 512) + "]"
	case m.Dice != nil:
		label = "[dice " + clean(m.Dice.Emoji, 32) + " " + strconv.Itoa(m.Dice.Value) + "]"
	}
	if att != nil && (att.ProviderRef == "" || att.Size > inbox.MaxAttachmentBytes) {
		// No file id, or more than inboxd stores (the cloud Bot API serves
		// at most 20 MB anyway): keep the label, drop the attachment,
		// rather than let the whole batch fail validation.
		label = strings.TrimSuffix(label, "]") + ", not retrievable]"
		att = nil
	}
	body := m.Text
	if body == "" {
		body = m.Caption
	}
	body = clean(body, inbox.MaxTextBytes)
	text := label
	switch {
	case label == "":
		text = body
	case body != "":
		text = label + "\n" + body
	}
	if att == nil {
		return text, nil
	}
	return text, []inbox.Attachment{*att}
}

func attachment(fileID, name, mime string, size int) *inbox.Attachment {
	if size < 0 {
		size = 0
	}
	return &inbox.Attachment{
		Name:        clean(name, 256),
		MIMEType:    clean(mime, 128),
		Size:        int64(size),
		ProviderRef: clean(fileID, inbox.MaxExternalIDBytes),
	}
}

// largestPhoto picks the biggest of the sizes Telegram offers (usually,
// but not by contract, the last one).
func largestPhoto(ps []tgbotapi.PhotoSize) tgbotapi.PhotoSize {
	best := ps[0]
	for _, p := range ps[1:] {
		if area(p) > area(best) || (area(p) == area(best) && p.FileSize > best.FileSize) {
			best = p
		}
	}
	return best
}

func area(p tgbotapi.PhotoSize) int64 { return int64(p.Width) * int64(p.Height) }

func coords(l tgbotapi.Location) string {
	return strconv.FormatFloat(l.Latitude, 'f', 6, 64) + ", " + strconv.FormatFloat(l.Longitude, 'f', 6, 64)
}

func duration(sec int) string {
	if sec < 0 {
		sec = 0
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

func unixTime(sec int) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0).UTC()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clean makes s valid UTF-8 and at most max bytes: the JSON decoder already
// replaces bad bytes, but Normalize must hold for any Update value.
func clean(s string, max int) string {
	return truncate(strings.ToValidUTF8(s, "\uFFFD"), max)
}

// truncate cuts s to at most max bytes on a rune boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
