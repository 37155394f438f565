package queues

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	netmail "net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// Limits of the contact form, in characters.
const (
	maxName    = 200
	maxEmail   = 254
	maxMessage = 10000
	maxAnswer  = 1000
)

// ContactForm is what POST /widget/v1/{channel}/contact takes.
type ContactForm struct {
	Name    string            `json:"name"`
	Email   string            `json:"email"`
	Message string            `json:"message"`
	Answers map[string]string `json:"answers"`
}

// Validate trims and checks the form against q's questions; the error
// names the field (name, email, message, answers.<question id>).
func (f *ContactForm) Validate(questions []Question) error {
	f.Name, f.Email, f.Message = strings.TrimSpace(f.Name), strings.TrimSpace(f.Email), strings.TrimSpace(f.Message)
	for _, c := range []struct{ field, v string }{{"name", f.Name}, {"email", f.Email}, {"message", f.Message}} {
		if !utf8.ValidString(c.v) {
			return inbox.Invalid(c.field, "is not valid UTF-8")
		}
	}
	switch {
	case f.Name == "":
		return inbox.Invalid("name", "is required")
	case utf8.RuneCountInString(f.Name) > maxName:
		return inbox.Invalid("name", "is longer than %d characters", maxName)
	case strings.IndexFunc(f.Name, unicode.IsControl) >= 0:
		return inbox.Invalid("name", "must be one line of text")
	case f.Email == "":
		return inbox.Invalid("email", "is required")
	case len(f.Email) > maxEmail || !bareAddress(f.Email):
		return inbox.Invalid("email", "is not an email address")
	case f.Message == "":
		return inbox.Invalid("message", "is required")
	case utf8.RuneCountInString(f.Message) > maxMessage:
		return inbox.Invalid("message", "is longer than %d characters", maxMessage)
	}
	known := map[string]bool{}
	clean := map[string]string{}
	for _, q := range questions {
		known[q.ID] = true
		v := strings.TrimSpace(f.Answers[q.ID])
		field := "answers." + q.ID
		switch {
		case !utf8.ValidString(v):
			return inbox.Invalid(field, "is not valid UTF-8")
		case q.Required && v == "":
			return inbox.Invalid(field, "is required")
		case utf8.RuneCountInString(v) > maxAnswer:
			return inbox.Invalid(field, "is longer than %d characters", maxAnswer)
		}
		if v != "" {
			clean[q.ID] = v
		}
	}
	for id := range f.Answers {
		if !known[id] {
			return inbox.Invalid("answers."+truncateRunes(id, 64), "is not a question of this form")
		}
	}
	f.Answers = clean
	return nil
}

// bareAddress reports whether s is one plain address (no display name)
// with a dotted domain.
func bareAddress(s string) bool {
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

func truncateRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// SubmitContact takes a widget channel's contact form: it creates an
// unassigned conversation (through the service, like any customer
// message, flagged as a registered contact), records the contact and the
// activity "registered_contact" with the form's content, all in one
// transaction, and the notifier tells the agents once it is committed.
func (m *Manager) SubmitContact(ctx context.Context, channelID string, f ContactForm) (Contact, error) {
	q, ch, err := m.widgetQueue(channelID)
	if err != nil {
		return Contact{}, err
	}
	if err := f.Validate(q.Questions); err != nil {
		return Contact{}, err
	}
	answers, _ := json.Marshal(f.Answers)
	id := "contact-" + randomHex(12)
	var c Contact
	in := inbox.Inbound{
		ChannelID: ch.ID, ExternalID: id,
		Contact: inbox.ContactInfo{ExternalID: "contact:" + strings.ToLower(f.Email), Name: f.Name, Email: f.Email},
		// A thread key of its own: every form is a conversation of its own.
		ThreadKey: id, Text: f.Message,
		Meta: map[string]string{metaRegistered: "1", metaFormName: f.Name, metaFormEmail: f.Email, metaFormAnswer: string(answers)},
	}
	res, err := m.o.Service.IngestWith(ctx, in, func(ctx context.Context, tx inbox.Tx, res inbox.IngestResult) error {
		ctr, ok := tx.(ContactTx)
		if !ok {
			return inbox.Errorf(inbox.EInternal, "the store cannot record registered contacts")
		}
		c = Contact{Queue: q.ID, ChannelID: ch.ID, ConversationID: res.ConversationID, Name: f.Name, Email: f.Email,
			Message: f.Message, Answers: f.Answers, CreatedAt: m.o.Clock.Now()}
		if err := ctr.InsertRegisteredContact(ctx, &c); err != nil {
			return err
		}
		data := map[string]string{"name": f.Name, "email": f.Email, "message": f.Message, "channel": ch.ID}
		for k, v := range f.Answers {
			data["answers."+k] = v
		}
		return tx.InsertActivity(ctx, &inbox.Activity{Queue: q.ID, Kind: inbox.ActivityRegisteredContact,
			ConversationID: res.ConversationID, Data: data, CreatedAt: c.CreatedAt})
	})
	if err != nil {
		return Contact{}, err
	}
	m.log.Info("registered contact", "queue", q.ID, "channel", ch.ID, "conversation_id", res.ConversationID, "contact_id", c.ID)
	return c, nil
}

// Page limits of the contacts list.
const (
	DefaultContactLimit = 50
	MaxContactLimit     = 200
	// MaxExportRows bounds one CSV export.
	MaxExportRows = 50000
)

// Contacts lists a queue's registered contacts for viewer (admins, and
// agents serving the queue), newest first, below beforeID.
func (m *Manager) Contacts(ctx context.Context, viewer *inbox.User, queue string, beforeID int64, limit int) ([]Contact, error) {
	if _, err := m.queueFor(viewer, queue); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultContactLimit
	}
	if limit < 1 || limit > MaxContactLimit {
		return nil, inbox.Invalid("limit", "must be between 1 and %d", MaxContactLimit)
	}
	cs, err := m.o.Store.Contacts(ctx, queue, beforeID, limit)
	if cs == nil {
		cs = []Contact{}
	}
	return cs, err
}

// WriteContactsCSV writes every registered contact of a queue as CSV, one
// column per configured question after the fixed ones, then the
// conversation's tags (comma-separated); tag, when not empty, keeps the
// contacts whose conversation carries that tag.
func (m *Manager) WriteContactsCSV(ctx context.Context, viewer *inbox.User, queue, tag string, w io.Writer) error {
	q, err := m.queueFor(viewer, queue)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := []string{"id", "created_at", "name", "email", "message", "conversation_id", "channel"}
	for _, qu := range q.Questions {
		head = append(head, qu.ID)
	}
	head = append(head, "tags")
	if err := cw.Write(head); err != nil {
		return err
	}
	var before int64
	for n := 0; n < MaxExportRows; {
		cs, err := m.o.Store.Contacts(ctx, queue, before, MaxContactLimit)
		if err != nil {
			return err
		}
		for _, c := range cs {
			before = c.ID
			if tag != "" && !slices.Contains(c.Tags, tag) {
				continue
			}
			row := []string{itoa(c.ID), c.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), cell(c.Name), cell(c.Email),
				cell(c.Message), itoa(c.ConversationID), c.ChannelID}
			for _, qu := range q.Questions {
				row = append(row, cell(c.Answers[qu.ID]))
			}
			row = append(row, cell(strings.Join(c.Tags, ",")))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		n += len(cs)
		if len(cs) < MaxContactLimit {
			break
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a customer's text from running as a formula when the export
// is opened in a spreadsheet.
func cell(s string) string { return inbox.SpreadsheetSafe(s) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("queues: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}
