package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// normalizeCase is one body and what Normalize must make of it: either an
// Inbound (code "") or an error with a code and the field at fault.
type normalizeCase struct {
	name  string
	file  string // under testdata/; empty when body is set
	body  []byte
	code  string
	field string
	check func(t *testing.T, in inbox.Inbound)
}

func normalizeCases() []normalizeCase {
	return []normalizeCase{
		{name: "minimal", file: "minimal.json", check: func(t *testing.T, in inbox.Inbound) {
			want := inbox.Inbound{ChannelID: "crm", ExternalID: "m-1", Text: "Hello",
				Contact: inbox.ContactInfo{ExternalID: "c-1"}}
			if !equalInbound(in, want) {
				t.Errorf("got %+v, want %+v", in, want)
			}
		}},
		{name: "full contact", file: "full_contact.json", check: func(t *testing.T, in inbox.Inbound) {
			want := inbox.Inbound{ChannelID: "crm", ExternalID: "crm-4711",
				Text: "Where is my order? <b>#12</b> & thanks 😀",
				Contact: inbox.ContactInfo{ExternalID: "cust-42", Name: "Анна Müller", Username: "anna_m",
					Email: "anna@example.com", Phone: "+358401234567"},
				SentAt: time.Date(2026, 3, 1, 7, 30, 15, 250_000_000, time.UTC)}
			if !equalInbound(in, want) {
				t.Errorf("got %+v, want %+v", in, want)
			}
		}},
		{name: "escaped lone surrogate becomes U+FFFD", file: "escaped_surrogate.json", check: func(t *testing.T, in inbox.Inbound) {
			if in.Text != "lone \uFFFD surrogate A" {
				t.Errorf("text = %q", in.Text)
			}
		}},
		{name: "text at the limit", body: withText(strings.Repeat("x", inbox.MaxTextBytes)), check: func(t *testing.T, in inbox.Inbound) {
			if len(in.Text) != inbox.MaxTextBytes {
				t.Errorf("len(text) = %d", len(in.Text))
			}
		}},
		{name: "message id at the limit", body: []byte(`{"message_id":"` + strings.Repeat("m", inbox.MaxExternalIDBytes) + `","contact":{"id":"c-1"},"text":"hi"}`),
			check: func(t *testing.T, in inbox.Inbound) {
				if len(in.ExternalID) != inbox.MaxExternalIDBytes {
					t.Errorf("len(external id) = %d", len(in.ExternalID))
				}
			}},

		{name: "unknown field", file: "unknown_field.json", code: inbox.EInvalid, field: "body"},
		{name: "unknown contact field", file: "unknown_contact_field.json", code: inbox.EInvalid, field: "body"},
		{name: "deep unknown field", file: "nested_unknown.json", code: inbox.EInvalid, field: "body"},
		{name: "message_id is a number", file: "wrong_type_message_id.json", code: inbox.EInvalid, field: "body"},
		{name: "contact is a string", file: "wrong_type_contact.json", code: inbox.EInvalid, field: "body"},
		{name: "text is an array", file: "wrong_type_text.json", code: inbox.EInvalid, field: "body"},
		{name: "sent_at is not a time", file: "bad_sent_at.json", code: inbox.EInvalid, field: "body"},
		{name: "two JSON values", file: "two_values.json", code: inbox.EInvalid, field: "body"},
		{name: "invalid UTF-8", file: "invalid_utf8.json", code: inbox.EInvalid, field: "body"},
		{name: "truncated JSON", file: "truncated.json", code: inbox.EInvalid, field: "body"},
		{name: "array instead of object", file: "array.json", code: inbox.EInvalid, field: "body"},
		{name: "empty body", body: []byte{}, code: inbox.EInvalid, field: "body"},
		{name: "byte order mark", body: append([]byte("\xef\xbb\xbf"), readFixture("minimal.json")...), code: inbox.EInvalid, field: "body"},
		{name: "deeply nested text", body: withRawText(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)), code: inbox.EInvalid, field: "body"},
		{name: "null", file: "null.json", code: inbox.EInvalid, field: "message_id"},
		{name: "missing message_id", file: "missing_message_id.json", code: inbox.EInvalid, field: "message_id"},
		{name: "missing contact.id", file: "missing_contact_id.json", code: inbox.EInvalid, field: "contact.id"},
		{name: "empty text", file: "empty_text.json", code: inbox.EInvalid, field: "text"},
		{name: "message id too long", body: []byte(`{"message_id":"` + strings.Repeat("m", inbox.MaxExternalIDBytes+1) + `","contact":{"id":"c-1"},"text":"hi"}`),
			code: inbox.EInvalid, field: "message_id"},
		{name: "text over 64 KiB", body: withText(strings.Repeat("x", inbox.MaxTextBytes+1)), code: inbox.ETooLarge, field: "text"},
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases() {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Normalize("crm", tc.bodyBytes(t))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Normalize: %v", err)
				}
				if err := in.Validate(); err != nil {
					t.Fatalf("accepted Inbound does not validate: %v", err)
				}
				tc.check(t, in)
				return
			}
			if err == nil {
				t.Fatalf("Normalize accepted it: %+v", in)
			}
			var e *inbox.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) carries no code", err, err)
			}
			if e.Code != tc.code || e.Field != tc.field {
				t.Errorf("error = %v, want code %q field %q", err, tc.code, tc.field)
			}
			if e.Message == "" {
				t.Error("error has no message")
			}
		})
	}
}

// TestFixturesCovered keeps testdata and the table in step: a fixture no
// case reads is a test nobody runs.
func TestFixturesCovered(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range normalizeCases() {
		used[tc.file] = true
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is not in the Normalize table", f)
		}
	}
}

// TestNormalizeErrorMessages checks what a client is told about a decode
// error: jsonProblem promises not to echo input, and a message should name
// what is wrong.
func TestNormalizeErrorMessages(t *testing.T) {
	t.Run("bad sent_at is not echoed", func(t *testing.T) {
		huge := strings.Repeat("9", 10_000)
		_, err := Normalize("crm", []byte(`{"message_id":"m","contact":{"id":"c"},"text":"x","sent_at":"`+huge+`"}`))
		if err == nil {
			t.Fatal("accepted")
		}
		if msg := inbox.ErrorMessage(err); strings.Contains(msg, huge[:100]) || len(msg) > 200 {
			t.Errorf("message echoes input (%d bytes): %.120s", len(msg), msg)
		}
	})
	t.Run("long unknown field name is bounded and stays UTF-8", func(t *testing.T) {
		name := strings.Repeat("é", 1000)
		_, err := Normalize("crm", []byte(`{"message_id":"m","contact":{"id":"c"},"text":"x","`+name+`":1}`))
		if err == nil {
			t.Fatal("accepted")
		}
		msg := inbox.ErrorMessage(err)
		if !utf8.ValidString(msg) || len(msg) > 200 || !strings.Contains(msg, "unknown field") {
			t.Errorf("message (%d bytes) = %q", len(msg), msg)
		}
	})
	t.Run("top-level type error names no empty field", func(t *testing.T) {
		_, err := Normalize("crm", readFixture("array.json"))
		if msg := inbox.ErrorMessage(err); strings.Contains(msg, "field  ") {
			t.Errorf("message = %q", msg)
		}
	})
}

func (tc normalizeCase) bodyBytes(t *testing.T) []byte {
	if tc.file == "" {
		return tc.body
	}
	b, err := os.ReadFile(filepath.Join("testdata", tc.file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readFixture is for table construction, where there is no t; a missing
// file shows up as a failing case.
func readFixture(name string) []byte {
	b, _ := os.ReadFile(filepath.Join("testdata", name))
	return b
}

func withText(text string) []byte {
	return withRawText(`"` + text + `"`)
}

func withRawText(raw string) []byte {
	return []byte(`{"message_id":"m-1","contact":{"id":"c-1"},"text":` + raw + `}`)
}

func equalInbound(a, b inbox.Inbound) bool {
	return a.Kind == b.Kind && a.ChannelID == b.ChannelID && a.ExternalID == b.ExternalID &&
		a.Contact.ExternalID == b.Contact.ExternalID && a.Contact.Name == b.Contact.Name &&
		a.Contact.Username == b.Contact.Username && a.Contact.Email == b.Contact.Email &&
		a.Contact.Phone == b.Contact.Phone && len(a.Contact.Meta) == 0 && len(b.Contact.Meta) == 0 &&
		a.Text == b.Text && a.HTML == b.HTML && a.Title == b.Title && a.Subject == b.Subject &&
		a.ThreadKey == b.ThreadKey && a.ThreadToken == b.ThreadToken && len(a.References) == 0 &&
		len(a.Attachments) == 0 && len(a.Meta) == 0 && !a.Auto && a.SentAt.Equal(b.SentAt)
}
