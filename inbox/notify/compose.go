package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// Mail is a composed notification email.
type Mail struct {
	To      []string
	Subject string
	Text    string
	Headers map[string]string
}

// Content is what a notification email is about.
type Content struct {
	// PublicURL is the config's public_url; links point into its console.
	PublicURL    string
	To           []string
	Conversation *inbox.Conversation // ID, Number and Title are used
	QueueName    string
	ChannelName  string
	// Messages are shown oldest first: the new message, or a transcript's.
	Messages []inbox.Message
	// Omitted counts earlier messages of a transcript left out.
	Omitted int
	// Form is the registered contact's form (RegisteredContact).
	Form *ContactForm
	// Location is the zone of the times shown; nil is UTC.
	Location *time.Location
}

// ContactForm is what a customer wrote in the offline contact form.
type ContactForm struct {
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Message string   `json:"message"`
	Answers []Answer `json:"answers"` // in the configured questions' order
}

// Answer is one answered question of the contact form.
type Answer struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// TranscriptContent is the Content of a missed-messages email for t; the
// caller adds the conversation, the queue and the address.
func TranscriptContent(t Transcript) Content {
	return Content{Messages: t.Messages, Omitted: t.Omitted}
}

// Limits keep a notification a notification, not a copy of the journal.
const (
	maxSubject = 140  // runes
	maxText    = 4000 // runes per message
)

// Compose writes the email for a notification of kind k. Every mail is
// marked Auto-Submitted: auto-generated (RFC 3834), so that autoresponders
// do not answer it and inboxd's own email channel would not take it for a
// customer, and carries a link to <public_url>/conversations/<id>.
func Compose(k Kind, c Content) Mail {
	var b strings.Builder
	b.WriteString(intro(k, c))
	b.WriteString("\n\n")
	if c.Form != nil {
		writeForm(&b, c.Form)
	}
	writeMessages(&b, c)
	if link := ConversationURL(c.PublicURL, c.Conversation); link != "" {
		fmt.Fprintf(&b, "Open the conversation: %s\n", link)
	}
	b.WriteString("\n-- \nYou get this email because of your notification settings in inboxd.\n")
	headers := map[string]string{
		"Auto-Submitted":           "auto-generated",
		"X-Auto-Response-Suppress": "All",
		"X-Inboxd-Notification":    string(k),
	}
	if c.Conversation != nil {
		headers["X-Inboxd-Conversation"] = strconv.FormatInt(c.Conversation.ID, 10)
	}
	return Mail{
		To:      append([]string(nil), c.To...),
		Subject: subject(k, c),
		Text:    b.String(),
		Headers: headers,
	}
}

// ConversationURL links to a conversation in the console; "" without one.
func ConversationURL(publicURL string, c *inbox.Conversation) string {
	if c == nil || c.ID == 0 {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/conversations/" + strconv.FormatInt(c.ID, 10)
}

// subject is one header line: anything a customer wrote in it (the title)
// is stripped of line breaks and control characters, so it cannot inject
// headers.
func subject(k Kind, c Content) string {
	title := conversationTitle(c.Conversation)
	var s string
	switch k {
	case NewChat:
		s = "New chat " + title
	case SlowChat:
		s = "Waiting chat " + title
	case MyConversation:
		s = "New message in " + title
	case MissedWhileOffline:
		n := len(c.Messages) + c.Omitted
		s = fmt.Sprintf("%d missed %s in %s", n, plural(n, "message", "messages"), title)
	case RegisteredContact:
		s = "New registered contact " + title
	case Assigned:
		s = "Assigned to you: " + title
	case Mention:
		s = "You were mentioned in " + title
	default:
		s = "Notification about " + title
	}
	return truncate(oneLine(s), maxSubject)
}

// conversationTitle is "#12: Alice", or "#12" when the title is the number
// (widget chats).
func conversationTitle(c *inbox.Conversation) string {
	if c == nil {
		return "a conversation"
	}
	num := "#" + strconv.FormatInt(c.Number, 10)
	t := strings.TrimSpace(oneLine(c.Title))
	if t == "" || t == num {
		return num
	}
	return num + ": " + t
}

// intro is the first sentence of the mail.
func intro(k Kind, c Content) string {
	where := ""
	if c.QueueName != "" {
		where = " in " + oneLine(c.QueueName)
	}
	if c.ChannelName != "" {
		where += " (" + oneLine(c.ChannelName) + ")"
	}
	switch k {
	case NewChat:
		return "A new chat is waiting" + where + "."
	case SlowChat:
		return "A chat has been waiting for an answer" + where + "."
	case MyConversation:
		return "A new message arrived in your conversation" + where + "."
	case MissedWhileOffline:
		return "While you were offline, messages arrived in a conversation" + where + "."
	case RegisteredContact:
		return "A customer left their contact details" + where + "."
	case Assigned:
		return "A conversation" + where + " was assigned to you."
	case Mention:
		return "A colleague mentioned you in a private note" + where + "."
	}
	return "Something happened in a conversation" + where + "."
}

func writeForm(b *strings.Builder, f *ContactForm) {
	fmt.Fprintf(b, "Name: %s\n", oneLine(f.Name))
	fmt.Fprintf(b, "Email: %s\n", oneLine(f.Email))
	for _, a := range f.Answers {
		fmt.Fprintf(b, "%s: %s\n", oneLine(a.Label), oneLine(a.Value))
	}
	if f.Message != "" {
		fmt.Fprintf(b, "\nMessage:\n%s\n", body(f.Message))
	}
	b.WriteString("\n")
}

func writeMessages(b *strings.Builder, c Content) {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	if c.Omitted > 0 {
		fmt.Fprintf(b, "(%d earlier %s not shown)\n\n", c.Omitted, plural(c.Omitted, "message", "messages"))
	}
	for _, m := range c.Messages {
		fmt.Fprintf(b, "[%s] %s:\n", m.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"), author(m))
		if m.Text != "" {
			b.WriteString(body(m.Text))
			b.WriteString("\n")
		}
		if len(m.Attachments) > 0 {
			names := make([]string, len(m.Attachments))
			for i, a := range m.Attachments {
				names[i] = oneLine(a.Name)
			}
			fmt.Fprintf(b, "(attachments: %s)\n", strings.Join(names, ", "))
		}
		b.WriteString("\n")
	}
}

func author(m inbox.Message) string {
	if n := strings.TrimSpace(oneLine(m.AuthorName)); n != "" {
		return n
	}
	if m.Direction == inbox.DirectionOut {
		return "Agent"
	}
	return "Customer"
}

// body cleans a customer's text for a plain-text mail body: valid UTF-8,
// \n line ends, no control characters, bounded length.
func body(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	return truncate(strings.TrimRight(s, "\n"), maxText)
}

// oneLine turns s into a single line without control characters.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
