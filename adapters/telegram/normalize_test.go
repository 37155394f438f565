package telegram

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/inbox"
)

// loadUpdate reads testdata/<name>.json, one update as the Bot API sends it.
func loadUpdate(t testing.TB, name string) tgbotapi.Update {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

func TestNormalize(t *testing.T) {
	type want struct {
		kind                                    inbox.InboundKind
		extID, contactID, name, username, title string
		threadKey, text                         string
		att                                     *inbox.Attachment
		meta                                    map[string]string
	}
	alice := func(w want) want {
		w.contactID, w.name, w.username, w.title = "111", "Alice Liddell", "alice", "@alice"
		return w
	}
	tests := []struct {
		fixture string
		groups  string
		ok      bool
		want    want
	}{
		{"text_private", GroupsIgnore, true, alice(want{extID: "111:1", text: "Hello, my order #42 has not arrived."})},
		{"text_no_username", GroupsIgnore, true, want{extID: "222:2", contactID: "222", name: "Bob Builder", title: "Bob Builder", text: "hi there"}},
		{"emoji_username_only", GroupsIgnore, true, want{extID: "444:20", contactID: "444", name: "@dave_é", username: "dave_é", title: "@dave_é", text: "😀 café"}},
		{"photo_caption", GroupsIgnore, true, alice(want{extID: "111:3", text: "[photo]\nThe box arrived broken",
			att: &inbox.Attachment{Name: "photo.jpg", MIMEType: "image/jpeg", Size: 154321, ProviderRef: "AgAC-large"}})},
		{"document", GroupsIgnore, true, alice(want{extID: "111:4", text: "[document: invoice.pdf]",
			att: &inbox.Attachment{Name: "invoice.pdf", MIMEType: "application/pdf", Size: 48213, ProviderRef: "BQAC-doc"}})},
		{"voice", GroupsIgnore, true, alice(want{extID: "111:5", text: "[voice message, 0:07]",
			att: &inbox.Attachment{Name: "voice.ogg", MIMEType: "audio/ogg", Size: 15500, ProviderRef: "AwAC-voice"}})},
		{"sticker", GroupsIgnore, true, alice(want{extID: "111:6", text: "[sticker 👍]",
			att: &inbox.Attachment{Name: "sticker.webp", MIMEType: "image/webp", Size: 20480, ProviderRef: "CAAC-sticker"}})},
		{"location", GroupsIgnore, true, alice(want{extID: "111:7", text: "[location] 60.169857, 24.938379"})},
		{"contact", GroupsIgnore, true, alice(want{extID: "111:8", text: "[contact: Carol Courier, +358401234567]"})},
		{"venue", GroupsIgnore, true, alice(want{extID: "111:9", text: "[venue: Acme Store, Mannerheimintie 1] 60.169900, 24.938400"})},
		{"animation", GroupsIgnore, true, alice(want{extID: "111:10", text: "[animation]",
			att: &inbox.Attachment{Name: "funny.mp4", MIMEType: "video/mp4", Size: 90000, ProviderRef: "CgAC-anim"}})},
		{"video", GroupsIgnore, true, alice(want{extID: "111:11", text: "[video, 1:15]\nsee this",
			att: &inbox.Attachment{Name: "video.mp4", MIMEType: "video/mp4", Size: 2000000, ProviderRef: "BAAC-video"}})},
		{"edited_message", GroupsIgnore, true, alice(want{kind: inbox.InboundEdit, extID: "111:1", text: "Hello, my order #43 has not arrived."})},
		{"reply", GroupsIgnore, true, alice(want{extID: "111:13", text: "yes, that one", meta: map[string]string{"reply_to": "111:12"}})},
		{"big_document", GroupsIgnore, true, alice(want{extID: "111:14", text: "[document: backup.zip, not retrievable]"})},
		{"group_text", GroupsIgnore, false, want{}},
		{"group_text", GroupsConversation, true, want{extID: "-1001234567890:15", contactID: "-1001234567890", name: "Acme customers",
			title: "Acme customers", threadKey: "-1001234567890", text: "Bob Builder: Anyone there?",
			meta: map[string]string{"from_id": "222", "from_name": "Bob Builder", "chat_type": "supergroup"}}},
		{"group_new_members", GroupsConversation, false, want{}},
		{"channel_post", GroupsConversation, false, want{}},
		{"callback_query", GroupsIgnore, false, want{}},
		{"my_chat_member", GroupsIgnore, false, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.groups, func(t *testing.T) {
			in, ok := Normalize("tg", loadUpdate(t, tt.fixture), tt.groups)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, in)
			}
			if !ok {
				return
			}
			w := tt.want
			got := want{kind: in.Kind, extID: in.ExternalID, contactID: in.Contact.ExternalID, name: in.Contact.Name,
				username: in.Contact.Username, title: in.Title, threadKey: in.ThreadKey, text: in.Text}
			if len(in.Attachments) > 0 {
				a := in.Attachments[0]
				got.att = &a
			}
			if len(in.Attachments) > 1 {
				t.Errorf("%d attachments, want at most 1", len(in.Attachments))
			}
			w.meta = nil
			if !reflect.DeepEqual(got, w) {
				t.Errorf("got  %+v\nwant %+v", got, w)
				if got.att != nil && w.att != nil {
					t.Errorf("attachment got %+v want %+v", *got.att, *w.att)
				}
			}
			for k, v := range tt.want.meta {
				if in.Meta[k] != v {
					t.Errorf("meta[%s] = %q, want %q", k, in.Meta[k], v)
				}
			}
			if in.ChannelID != "tg" {
				t.Errorf("channel = %q", in.ChannelID)
			}
			if in.SentAt.IsZero() {
				t.Error("SentAt not set")
			}
			if err := in.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestNormalizeTimes(t *testing.T) {
	in, _ := Normalize("tg", loadUpdate(t, "text_private"), GroupsIgnore)
	if want := time.Unix(1767225601, 0).UTC(); !in.SentAt.Equal(want) {
		t.Errorf("message SentAt = %v, want %v", in.SentAt, want)
	}
	ed, _ := Normalize("tg", loadUpdate(t, "edited_message"), GroupsIgnore)
	if want := time.Unix(1767229999, 0).UTC(); !ed.SentAt.Equal(want) {
		t.Errorf("edit SentAt = %v, want the edit date %v", ed.SentAt, want)
	}
}

func TestLargestPhoto(t *testing.T) {
	// Not trusting the order: the largest is in the middle here.
	ps := []tgbotapi.PhotoSize{
		{FileID: "s", Width: 90, Height: 90},
		{FileID: "l", Width: 1280, Height: 1280},
		{FileID: "m", Width: 320, Height: 320},
	}
	if got := largestPhoto(ps).FileID; got != "l" {
		t.Errorf("largest = %q, want l", got)
	}
}

func TestNormalizeTruncatesAndRepairs(t *testing.T) {
	u := loadUpdate(t, "text_private")
	u.Message.Text = strings.Repeat("é", inbox.MaxTextBytes) // 2 bytes each: twice the limit
	u.Message.Chat.FirstName = "bad\xffname"
	in, ok := Normalize("tg", u, GroupsIgnore)
	if !ok {
		t.Fatal("dropped")
	}
	if len(in.Text) > inbox.MaxTextBytes || !utf8.ValidString(in.Text) {
		t.Errorf("text: %d bytes, valid UTF-8 %v", len(in.Text), utf8.ValidString(in.Text))
	}
	if err := in.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// FuzzNormalize checks that any JSON the webhook or getUpdates could hand
// over normalizes without panicking, and that whatever Normalize keeps
// passes the ingester's validation (a batch that fails it would block the
// poller).
func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var u tgbotapi.Update
		if json.Unmarshal(b, &u) != nil {
			return
		}
		for _, groups := range []string{GroupsIgnore, GroupsConversation} {
			in, ok := Normalize("tg", u, groups)
			if !ok {
				continue
			}
			if err := in.Validate(); err != nil {
				t.Fatalf("groups=%s: normalized update fails validation: %v\n%+v", groups, err, in)
			}
			if !strings.Contains(in.ExternalID, ":") {
				t.Fatalf("external id %q is not <chat>:<message>", in.ExternalID)
			}
			if in.ThreadKey != "" && in.ThreadKey != in.Contact.ExternalID {
				t.Fatalf("thread key %q differs from the group contact %q", in.ThreadKey, in.Contact.ExternalID)
			}
		}
	})
}
