package meta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

type wantMsg struct {
	id, contact string
	kind        inbox.InboundKind
	text        string // the whole text, or with a "~" prefix a substring
	refs        []string
	meta        map[string]string
}

type wantUpdate struct {
	id    string
	state inbox.Delivery
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
		file       string
		platform   Platform
		wantErr    string
		msgs       []wantMsg
		updates    []wantUpdate
		watermarks []Watermark
		skipped    int
	}{
		{file: "messenger_text.json", platform: Messenger, msgs: []wantMsg{{
			id:      "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
			contact: "6543210987654321", text: "Hello, I have a question about my order",
		}}},
		{file: "messenger_batch.json", platform: Messenger,
			msgs: []wantMsg{
				{id: "m_batch_1", contact: "1111", text: "first"},
				{id: "m_batch_2", contact: "2222", text: "second"},
				{id: "m_batch_3", contact: "1111", text: "third"},
			},
			updates: []wantUpdate{{"m_out_1", inbox.DeliveryDelivered}, {"m_out_2", inbox.DeliveryDelivered}},
		},
		{file: "messenger_attachments.json", platform: Messenger, msgs: []wantMsg{
			{id: "m_att_1", contact: "3333", text: "", refs: []string{
				"https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1&oh=abc",
				"https://video.xx.fbcdn.net/v/t42.3356-2/clip.mp4?oh=def",
				"https://cdn.fbsbx.com/v/t59.3654-21/audioclip-1700000200000.mp4?oh=ghi",
				"https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf?oh=jkl",
			}},
			{id: "m_att_sticker", contact: "3333", text: "", refs: []string{
				"https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png?_nc_cat=1",
			}},
			{id: "m_att_location", contact: "3333", text: "Location: 60.169857, 24.938379 https://maps.google.com/?q=60.169857,24.938379"},
			{id: "m_att_fallback", contact: "3333", text: "look at this\nOur new product https://example.com/product"},
		}},
		{file: "messenger_quick_reply.json", platform: Messenger, msgs: []wantMsg{
			{id: "m_qr_1", contact: "4444", text: "Billing", meta: map[string]string{"quick_reply_payload": "TOPIC_BILLING"}},
			{id: "m_qr_2", contact: "4444", text: "user@example.com", meta: map[string]string{"quick_reply_payload": "user@example.com"}},
		}},
		{file: "messenger_postback.json", platform: Messenger, msgs: []wantMsg{
			{id: "m_pb_1", contact: "5555", text: "Talk to a human", meta: map[string]string{"postback_payload": "HUMAN"}},
			{id: "postback:5555:1700000401000", contact: "5555", text: "Get Started", meta: map[string]string{"postback_payload": "GET_STARTED"}},
		}},
		{file: "messenger_echo.json", platform: Messenger,
			updates: []wantUpdate{{"m_out_echo_1", inbox.DeliverySent}}},
		{file: "messenger_delivery_read.json", platform: Messenger,
			updates: []wantUpdate{{"m_out_echo_1", inbox.DeliveryDelivered}},
			watermarks: []Watermark{
				{Contact: "6666", State: inbox.DeliveryRead, At: time.UnixMilli(1700000600500).UTC()},
				{Contact: "6666", State: inbox.DeliveryDelivered, At: time.UnixMilli(1700000601500).UTC()},
			}},
		{file: "messenger_unknown.json", platform: Messenger, skipped: 2, msgs: []wantMsg{
			{id: "m_unknown_1", contact: "7777", text: "with new fields\n[teleport without a link]", refs: []string{"https://cdn.fbsbx.com/v/holo.bin"}},
		}},
		{file: "messenger_reaction.json", platform: Messenger, msgs: []wantMsg{
			{id: "reaction:m_out_reacted:8888:react:1700000800000", contact: "8888", text: "Reacted \u2764\ufe0f to a message", meta: map[string]string{"reaction_to": "m_out_reacted"}},
			{id: "reaction:m_out_reacted:8888:unreact:1700000801000", contact: "8888", text: "Removed a reaction", meta: map[string]string{"reaction_to": "m_out_reacted"}},
		}},
		{file: "messenger_invalid_items.json", platform: Messenger, skipped: 2, msgs: []wantMsg{
			{id: "m_valid_after_invalid", contact: "9999", text: "still stored"},
		}},
		{file: "instagram_media.json", platform: Instagram, msgs: []wantMsg{
			{id: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAwOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTc5OTIyNDMxNjE2MTE2", contact: "998877665544", text: "Do you ship to Finland?"},
			{id: "ig_mid_story_mention", contact: "998877665544", text: "(mentioned you in their story)",
				refs: []string{"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1799&signature=abc"}},
			{id: "ig_mid_story_reply", contact: "998877665544", text: "Love this!\n(replied to your story)",
				meta: map[string]string{"reply_to_story": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1800"}},
			{id: "ig_mid_share", contact: "998877665544", text: "(shared a post)\nReel caption", refs: []string{
				"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1801",
				"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1802",
			}},
		}},
		{file: "instagram_events.json", platform: Instagram,
			msgs: []wantMsg{
				{id: "ig_mid_story_reply", contact: "998877665544", kind: inbox.InboundEdit, text: "Love this so much!"},
				{id: "ig_mid_share", contact: "998877665544", kind: inbox.InboundEdit, text: "~deleted"},
				{id: "ig_mid_unsupported", contact: "998877665544", text: "~cannot show"},
			},
			updates: []wantUpdate{{"ig_out_1", inbox.DeliveryRead}, {"ig_out_2", inbox.DeliverySent}},
		},
		{file: "messenger_text.json", platform: Instagram, wantErr: `object: is "page", not "instagram"`},
		{file: "instagram_media.json", platform: Messenger, wantErr: `object: is "instagram", not "page"`},
	}
	for _, tt := range tests {
		t.Run(string(tt.platform)+"/"+tt.file, func(t *testing.T) {
			b, err := Normalize(tt.platform, "ch", readFixture(t, tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != len(tt.msgs) {
				t.Fatalf("got %d messages %+v, want %d", len(b.Messages), b.Messages, len(tt.msgs))
			}
			for i, w := range tt.msgs {
				g := b.Messages[i]
				if g.ChannelID != "ch" || g.ExternalID != w.id || g.Contact.ExternalID != w.contact || g.Kind != w.kind {
					t.Errorf("message %d = %q from %q kind %q, want %q from %q kind %q", i, g.ExternalID, g.Contact.ExternalID, g.Kind, w.id, w.contact, w.kind)
				}
				if sub, ok := strings.CutPrefix(w.text, "~"); ok {
					if !strings.Contains(g.Text, sub) {
						t.Errorf("message %d text %q does not contain %q", i, g.Text, sub)
					}
				} else if g.Text != w.text {
					t.Errorf("message %d text %q, want %q", i, g.Text, w.text)
				}
				if len(g.Attachments) != len(w.refs) {
					t.Errorf("message %d has %d attachments, want %d", i, len(g.Attachments), len(w.refs))
				} else {
					for j, ref := range w.refs {
						if g.Attachments[j].ProviderRef != ref || g.Attachments[j].Name == "" {
							t.Errorf("message %d attachment %d = %+v, want ref %q", i, j, g.Attachments[j], ref)
						}
					}
				}
				for k, v := range w.meta {
					if g.Meta[k] != v {
						t.Errorf("message %d meta %s = %q, want %q", i, k, g.Meta[k], v)
					}
				}
				if g.SentAt.IsZero() {
					t.Errorf("message %d has no time", i)
				}
				if err := g.Validate(); err != nil {
					t.Errorf("message %d invalid: %v", i, err)
				}
			}
			if len(b.Updates) != len(tt.updates) {
				t.Fatalf("got updates %+v, want %v", b.Updates, tt.updates)
			}
			for i, w := range tt.updates {
				if u := b.Updates[i]; u.ProviderID != w.id || u.State != w.state || u.ChannelID != "ch" || u.At.IsZero() {
					t.Errorf("update %d = %+v, want %v", i, u, w)
				}
			}
			if len(b.Watermarks) != len(tt.watermarks) {
				t.Fatalf("got watermarks %+v, want %+v", b.Watermarks, tt.watermarks)
			}
			for i, w := range tt.watermarks {
				if !b.Watermarks[i].At.Equal(w.At) || b.Watermarks[i].Contact != w.Contact || b.Watermarks[i].State != w.State {
					t.Errorf("watermark %d = %+v, want %+v", i, b.Watermarks[i], w)
				}
			}
			if len(b.Skipped) != tt.skipped {
				t.Errorf("skipped %q, want %d", b.Skipped, tt.skipped)
			}
		})
	}
}

func TestNormalizeTimes(t *testing.T) {
	b, err := Normalize(Messenger, "ch", readFixture(t, "messenger_text.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC); !b.Messages[0].SentAt.Equal(want) {
		t.Errorf("SentAt = %v, want %v", b.Messages[0].SentAt, want)
	}
}

func TestNormalizeRejects(t *testing.T) {
	for name, body := range map[string]string{
		"malformed":    `{"object":"page","entry":[`,
		"not object":   `[1,2,3]`,
		"no object":    `{"entry":[]}`,
		"invalid utf8": "{\"object\":\"page\",\"entry\":[{\"id\":\"\xff\"}]}",
		"wrong types":  `{"object":"page","entry":[{"messaging":[{"timestamp":"soon"}]}]}`,
	} {
		if _, err := Normalize(Messenger, "ch", []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNormalizeClipsLongText(t *testing.T) {
	long := strings.Repeat("é", inbox.MaxTextBytes) // 2 bytes each
	body := `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"timestamp":1,"message":{"mid":"m","text":"` + long + `"}}]}]}`
	b, err := Normalize(Messenger, "ch", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 1 || len(b.Messages[0].Text) > inbox.MaxTextBytes || b.Messages[0].Validate() != nil {
		t.Fatalf("long text not clipped to a valid message: %d messages", len(b.Messages))
	}
}

func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		f.Add(readFixture(f, filepath.Base(file)), false)
	}
	f.Add([]byte(`{"object":"instagram","entry":[{"messaging":[{"sender":{"id":"1"},"message":{"mid":"x","attachments":[{"type":"image","payload":{"url":"http://a/b.c","sticker_id":"s"}}]}}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, ig bool) {
		p := Messenger
		if ig {
			p = Instagram
		}
		b, err := Normalize(p, "ch", body)
		if err != nil {
			return
		}
		for _, in := range b.Messages {
			if err := in.Validate(); err != nil {
				t.Fatalf("invalid message %+v: %v", in, err)
			}
		}
		for _, u := range b.Updates {
			if u.ProviderID == "" || u.ChannelID != "ch" {
				t.Fatalf("bad update %+v", u)
			}
		}
	})
}
