package whatsapp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

const testNumber = "106540352242922"

type wantMsg struct {
	id, from, name string
	text           string // the whole text, or with a "~" prefix a substring
	files          []inbox.Attachment
	meta           map[string]string
}

type wantUpdate struct {
	id    string
	state inbox.Delivery
	err   string // substring
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		file    string
		msgs    []wantMsg
		updates []wantUpdate
		skipped int
	}{
		{file: "text.json", msgs: []wantMsg{{
			id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", from: "16505551234", name: "Sheena Nelson",
			text: "Does it come in another color?", meta: map[string]string{"type": "text"},
		}}},
		{file: "batch.json",
			msgs: []wantMsg{
				{id: "wamid.batch1", from: "16505551234", name: "Sheena Nelson", text: "one"},
				{id: "wamid.batch2", from: "34600111222", name: "Pablo Morales", text: "dos"},
				{id: "wamid.batch3", from: "16505551234", name: "Sheena Nelson", text: "three"},
			},
			updates: []wantUpdate{{id: "wamid.out1", state: inbox.DeliveryDelivered}}},
		{file: "media.json", msgs: []wantMsg{
			{id: "wamid.image", from: "16505551234", name: "Sheena Nelson", text: "The crack on the lid",
				files: []inbox.Attachment{{Name: "image.jpg", MIMEType: "image/jpeg", ProviderRef: "1003383421387256"}}},
			{id: "wamid.video", from: "16505551234", name: "Sheena Nelson", text: "",
				files: []inbox.Attachment{{Name: "video.mp4", MIMEType: "video/mp4", ProviderRef: "1003383421387257"}}},
			{id: "wamid.voice", from: "16505551234", name: "Sheena Nelson", text: "", meta: map[string]string{"voice": "true", "type": "audio"},
				files: []inbox.Attachment{{Name: "audio.ogg", MIMEType: "audio/ogg; codecs=opus", ProviderRef: "1003383421387258"}}},
			{id: "wamid.document", from: "16505551234", name: "Sheena Nelson", text: "my invoice",
				files: []inbox.Attachment{{Name: "invoice-2291.pdf", MIMEType: "application/pdf", ProviderRef: "1003383421387259"}}},
			{id: "wamid.sticker", from: "16505551234", name: "Sheena Nelson", text: "",
				files: []inbox.Attachment{{Name: "sticker.webp", MIMEType: "image/webp", ProviderRef: "1003383421387260"}}},
		}},
		{file: "location_contacts.json", msgs: []wantMsg{
			{id: "wamid.location", from: "16505551234", name: "Sheena Nelson",
				text: "Location: Main Office 1 Hacker Way, Menlo Park, CA 94025 37.483307, -122.148981 https://maps.google.com/?q=37.483307,-122.148981"},
			{id: "wamid.contacts", from: "16505551234", name: "Sheena Nelson",
				text: "Shared contact: Barbara J. Johnson, +1 (940) 555-1234, bjohnson@example.com\nShared contact: Pat, +358 40 1234567"},
		}},
		{file: "interactive.json", msgs: []wantMsg{
			{id: "wamid.button_reply", from: "16505551234", name: "Sheena Nelson", text: "Change",
				meta: map[string]string{"reply_id": "change-button", "reply_to": "wamid.out.menu", "type": "interactive"}},
			{id: "wamid.list_reply", from: "16505551234", name: "Sheena Nelson", text: "Express Shipping — Next Day to 2 Days",
				meta: map[string]string{"reply_id": "priority_express", "reply_to": "wamid.out.list"}},
			{id: "wamid.button", from: "16505551234", name: "Sheena Nelson", text: "Stop promotions",
				meta: map[string]string{"button_payload": "STOP_PROMOS", "reply_to": "wamid.out.template", "type": "button"}},
		}},
		{file: "reaction.json", msgs: []wantMsg{
			{id: "wamid.reaction1", from: "16505551234", name: "Sheena Nelson", text: "Reacted 👍 to a message", meta: map[string]string{"reaction_to": "wamid.out.thanks"}},
			{id: "wamid.reaction2", from: "16505551234", name: "Sheena Nelson", text: "Removed a reaction", meta: map[string]string{"reaction_to": "wamid.out.thanks"}},
		}},
		{file: "statuses.json", skipped: 1, updates: []wantUpdate{
			{id: "wamid.out1", state: inbox.DeliverySent},
			{id: "wamid.out1", state: inbox.DeliveryDelivered},
			{id: "wamid.out1", state: inbox.DeliveryRead},
			{id: "wamid.out2", state: inbox.DeliveryFailed, err: "Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number. (code 131047)"},
		}},
		{file: "unsupported.json", msgs: []wantMsg{
			{id: "wamid.unsupported", from: "16505551234", name: "Sheena Nelson", text: "[unsupported message] Message type unknown: Message type is currently not supported. (code 131051)"},
			{id: "wamid.unknown", from: "16505551234", name: "Sheena Nelson", text: "[hologram message]", meta: map[string]string{"type": "hologram"}},
		}},
		{file: "other_number.json", skipped: 2, msgs: []wantMsg{
			{id: "wamid.mine", from: "16505551234", name: "Sheena Nelson", text: "for us"},
		}},
		{file: "unknown_fields.json", msgs: []wantMsg{
			{id: "wamid.reply", from: "16505551234", name: "Sheena Nelson", text: "Yes please",
				meta: map[string]string{"reply_to": "wamid.out.question", "forwarded": "true", "referral_source_url": "https://fb.me/ad123"}},
			{id: "wamid.system", from: "16505551234", name: "Sheena Nelson", text: "[system] Sheena changed their phone number to a new number"},
			{id: "wamid.order", from: "16505551234", name: "Sheena Nelson", text: "Order of 2 item(s) gift wrap please"},
		}},
		{file: "invalid_items.json", skipped: 2, msgs: []wantMsg{
			{id: "wamid.badtime", from: "16505551234", name: "Sheena Nelson", text: "odd time"},
			{id: "wamid.emptytext", from: "16505551234", name: "Sheena Nelson", text: "[text message]"},
		}},
		{file: "no_contact.json", msgs: []wantMsg{
			{id: "wamid.noname", from: "447700900123", name: "", text: "no contacts block, numeric time"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := Normalize(testNumber, "wa", readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != len(tt.msgs) {
				t.Fatalf("got %d messages %+v, want %d", len(b.Messages), b.Messages, len(tt.msgs))
			}
			for i, w := range tt.msgs {
				g := b.Messages[i]
				if g.ChannelID != "wa" || g.ExternalID != w.id || g.Contact.ExternalID != w.from || g.Contact.Name != w.name || g.Contact.Phone != "+"+w.from {
					t.Errorf("message %d = %q from %+v, want %q from %q (%q)", i, g.ExternalID, g.Contact, w.id, w.from, w.name)
				}
				if wantTitle := map[bool]string{true: w.from, false: ""}[w.name == ""]; g.Title != wantTitle {
					t.Errorf("message %d title %q, want %q", i, g.Title, wantTitle)
				}
				if sub, ok := strings.CutPrefix(w.text, "~"); ok {
					if !strings.Contains(g.Text, sub) {
						t.Errorf("message %d text %q lacks %q", i, g.Text, sub)
					}
				} else if g.Text != w.text {
					t.Errorf("message %d text %q, want %q", i, g.Text, w.text)
				}
				if len(g.Attachments) != len(w.files) {
					t.Errorf("message %d attachments %+v, want %+v", i, g.Attachments, w.files)
				} else {
					for j, f := range w.files {
						if a := g.Attachments[j]; a.Name != f.Name || a.MIMEType != f.MIMEType || a.ProviderRef != f.ProviderRef {
							t.Errorf("message %d attachment %+v, want %+v", i, a, f)
						}
					}
				}
				for k, v := range w.meta {
					if g.Meta[k] != v {
						t.Errorf("message %d meta %s = %q, want %q", i, k, g.Meta[k], v)
					}
				}
				if err := g.Validate(); err != nil {
					t.Errorf("message %d invalid: %v", i, err)
				}
			}
			if len(b.Updates) != len(tt.updates) {
				t.Fatalf("updates %+v, want %+v", b.Updates, tt.updates)
			}
			for i, w := range tt.updates {
				u := b.Updates[i]
				if u.ProviderID != w.id || u.State != w.state || u.ChannelID != "wa" || u.At.IsZero() {
					t.Errorf("update %d = %+v, want %+v", i, u, w)
				}
				if (w.err == "") != (u.Error == "") || !strings.Contains(u.Error, w.err) {
					t.Errorf("update %d error %q, want %q", i, u.Error, w.err)
				}
			}
			if len(b.Skipped) != tt.skipped {
				t.Errorf("skipped %q, want %d", b.Skipped, tt.skipped)
			}
		})
	}
}

func TestNormalizeTimestamp(t *testing.T) {
	for file, want := range map[string]time.Time{
		"text.json":          time.Unix(1749416383, 0).UTC(),
		"no_contact.json":    time.Unix(1749417300, 0).UTC(),
		"invalid_items.json": {}, // "yesterday": unknown, the store uses its own clock
	} {
		b, err := Normalize(testNumber, "wa", readFixture(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if !b.Messages[0].SentAt.Equal(want) {
			t.Errorf("%s: SentAt %v, want %v", file, b.Messages[0].SentAt, want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for name, body := range map[string]string{
		"malformed":    `{"object":"whatsapp_business_account","entry":[`,
		"wrong object": `{"object":"page","entry":[]}`,
		"no object":    `{}`,
		"array":        `[]`,
		"invalid utf8": "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"\xff\"}]}",
	} {
		if _, err := Normalize(testNumber, "wa", []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		f.Add(readFixture(f, filepath.Base(file)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Normalize(testNumber, "wa", body)
		if err != nil {
			return
		}
		for _, in := range b.Messages {
			if err := in.Validate(); err != nil {
				t.Fatalf("invalid message %+v: %v", in, err)
			}
		}
		for _, u := range b.Updates {
			if u.ProviderID == "" || u.ChannelID != "wa" || (u.State == inbox.DeliveryFailed && u.Error == "") {
				t.Fatalf("bad update %+v", u)
			}
		}
	})
}
