package viber

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

var (
	fixtureNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// 1457764197627 ms after the epoch.
	viberTS = time.Date(2016, 3, 12, 6, 29, 57, 627_000_000, time.UTC)
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormalizeFixtures(t *testing.T) {
	john := inbox.ContactInfo{
		ExternalID: "01234567890A=",
		Name:       "John McClane",
	}
	johnFull := john
	johnFull.Meta = map[string]string{"avatar": "http://avatar.example.com", "country": "UK", "language": "en", "api_version": "1"}
	msg := func(token string, ms int64, c inbox.ContactInfo, text string, meta map[string]string, atts ...inbox.Attachment) *inbox.Inbound {
		title := c.Name
		if title == "" {
			title = c.ExternalID
		}
		return &inbox.Inbound{
			ChannelID: "vb", ExternalID: token, Contact: c, Title: title, Text: text,
			Attachments: atts, Meta: meta, SentAt: time.UnixMilli(ms).UTC(),
		}
	}
	pictureContact := john
	pictureContact.Meta = map[string]string{"avatar": "http://avatar.example.com", "country": "UK", "language": "en", "api_version": "10"}
	videoContact := john
	videoContact.Meta = map[string]string{"api_version": "7"}

	tests := []struct {
		file     string
		event    string
		inbound  *inbox.Inbound
		delivery *inbox.DeliveryUpdate
	}{
		{"message_text.json", EventMessage, msg("4912661846655238145", 1457764197627, johnFull,
			"a message to the service", map[string]string{"viber_type": "text", "tracking_data": "inboxd:42"}), nil},
		{"message_picture.json", EventMessage, msg("5741311803571721087", 1457764197628, pictureContact,
			"Photo of the broken part", map[string]string{"viber_type": "picture"},
			inbox.Attachment{Name: "IMG_2016.jpg", MIMEType: "image/jpeg", Size: 123456,
				ProviderRef: "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/5688fdffdaa76a3f.jpg"}), nil},
		{"message_video.json", EventMessage, msg("9223372036854775807", 1457764197629, videoContact,
			"[video]", map[string]string{"viber_type": "video", "duration": "10"},
			inbox.Attachment{Name: "video.mp4", MIMEType: "video/mp4", Size: 10000, ProviderRef: "https://dl-media.viber.com/video.mp4"}), nil},
		{"message_file.json", EventMessage, msg("4912661846655238146", 1457764197630, john,
			"[file] report.pdf", map[string]string{"viber_type": "file"},
			inbox.Attachment{Name: "report.pdf", MIMEType: "application/pdf", Size: 10000, ProviderRef: "https://dl-media.viber.com/files/report.pdf"}), nil},
		{"message_sticker.json", EventMessage, msg("4912661846655238147", 1457764197631, john,
			"[sticker]", map[string]string{"viber_type": "sticker", "sticker_id": "46105"},
			inbox.Attachment{Name: "sticker.png", MIMEType: "image/png", ProviderRef: "https://viber-stickers.example/46105.png"}), nil},
		{"message_contact.json", EventMessage, msg("4912661846655238148", 1457764197632, john,
			"[contact] Itamar, +972511123123", map[string]string{"viber_type": "contact", "contact_name": "Itamar", "contact_phone": "+972511123123"}), nil},
		{"message_url.json", EventMessage, msg("4912661846655238149", 1457764197633, john,
			"http://www.website.com/go_here", map[string]string{"viber_type": "url", "url": "http://www.website.com/go_here"}), nil},
		{"message_location.json", EventMessage, msg("4912661846655238150", 1457764197634, john,
			"[location] 50.76891, 6.11499", map[string]string{"viber_type": "location", "latitude": "50.76891", "longitude": "6.11499"}), nil},
		{"message_unknown_type.json", EventMessage, msg("4912661846655238151", 1457764197635, john,
			"[unsupported Viber message: voice_note]", map[string]string{"viber_type": "voice_note"},
			inbox.Attachment{Name: "note.voicenote", MIMEType: "application/octet-stream", ProviderRef: "https://dl-media.viber.com/voice"}), nil},
		{"message_without_name.json", EventMessage, msg("4912661846655238152", 1457764197636,
			inbox.ContactInfo{ExternalID: "nNoName0987654=", Meta: map[string]string{"api_version": "2"}},
			"Hi, my name is hidden", map[string]string{"viber_type": "text"}), nil},
		{"delivered.json", EventDelivered, nil, &inbox.DeliveryUpdate{ChannelID: "vb",
			ProviderID: "4912661846655238145", State: inbox.DeliveryDelivered, At: viberTS}},
		{"seen.json", EventSeen, nil, &inbox.DeliveryUpdate{ChannelID: "vb",
			ProviderID: "4912661846655238145", State: inbox.DeliveryRead, At: time.UnixMilli(1457764197700).UTC()}},
		{"failed.json", EventFailed, nil, &inbox.DeliveryUpdate{ChannelID: "vb",
			ProviderID: "4912661846655238145", State: inbox.DeliveryFailed, Error: "failure description",
			At: time.UnixMilli(1457764197800).UTC()}},
		{"subscribed.json", EventSubscribed, nil, nil},
		{"unsubscribed.json", EventUnsubscribed, nil, nil},
		{"conversation_started.json", EventConversationStarted, nil, nil},
		{"webhook.json", EventWebhook, nil, nil},
		{"unknown_event.json", "client_status", nil, nil},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			got, err := Normalize("vb", readFixture(t, tt.file), fixtureNow)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got.Event != tt.event {
				t.Errorf("event = %q, want %q", got.Event, tt.event)
			}
			if !reflect.DeepEqual(got.Inbound, tt.inbound) {
				t.Errorf("inbound =\n%+v\nwant\n%+v", got.Inbound, tt.inbound)
			}
			if !reflect.DeepEqual(got.Delivery, tt.delivery) {
				t.Errorf("delivery =\n%+v\nwant\n%+v", got.Delivery, tt.delivery)
			}
			if got.Inbound != nil {
				if err := got.Inbound.Validate(); err != nil {
					t.Errorf("the journal would refuse it: %v", err)
				}
			}
		})
	}
	// Every fixture is in the table: a new one cannot go untested.
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("fixture %s has no expectation", f)
		}
	}
	if len(files) < 10 {
		t.Errorf("only %d fixtures", len(files))
	}
}

// The token above 2^53 is the reason for json.Number: through float64,
// 4912661846655238145 would come back as 4912661846655238144.
func TestNormalizeTokenKeepsAllDigits(t *testing.T) {
	const big = "4912661846655238145"
	if f, _ := strconv.ParseFloat(big, 64); strconv.FormatFloat(f, 'f', 0, 64) == big {
		t.Fatal("the test token survives float64; pick one above 2^53")
	}
	for _, body := range []string{
		`{"event":"message","message_token":` + big + `,"sender":{"id":"u"},"message":{"type":"text","text":"x"}}`,
		`{"event":"delivered","message_token":` + big + `,"user_id":"u"}`,
	} {
		n, err := Normalize("vb", []byte(body), fixtureNow)
		if err != nil {
			t.Fatal(err)
		}
		var id string
		if n.Inbound != nil {
			id = n.Inbound.ExternalID
		} else {
			id = n.Delivery.ProviderID
		}
		if id != big {
			t.Errorf("%s: id = %s, want %s", n.Event, id, big)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := map[string]string{
		"not json":                `{"event":"message",`,
		"trailing data":           `{"event":"webhook"} {}`,
		"invalid utf-8":           "{\"event\":\"message\",\"message_token\":1,\"sender\":{\"id\":\"\xff\"},\"message\":{\"type\":\"text\",\"text\":\"x\"}}",
		"no event":                `{"message_token":1}`,
		"array":                   `[{"event":"message"}]`,
		"message without token":   `{"event":"message","sender":{"id":"u"},"message":{"type":"text","text":"x"}}`,
		"fractional token":        `{"event":"message","message_token":1.5,"sender":{"id":"u"},"message":{"type":"text","text":"x"}}`,
		"token over 64 bits":      `{"event":"delivered","message_token":184467440737095516160,"user_id":"u"}`,
		"token as text":           `{"event":"seen","message_token":"abc","user_id":"u"}`,
		"message without sender":  `{"event":"message","message_token":1,"message":{"type":"text","text":"x"}}`,
		"sender without id":       `{"event":"message","message_token":1,"sender":{"name":"n"},"message":{"type":"text","text":"x"}}`,
		"message without message": `{"event":"message","message_token":1,"sender":{"id":"u"}}`,
		"delivered without token": `{"event":"delivered","user_id":"u"}`,
		"sender of wrong type":    `{"event":"message","message_token":1,"sender":"u","message":{"type":"text","text":"x"}}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			n, err := Normalize("vb", []byte(body), fixtureNow)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v (%+v), want ErrMalformed", err, n)
			}
		})
	}
}

func TestNormalizeFallbacks(t *testing.T) {
	n, err := Normalize("vb", []byte(`{"event":"message","message_token":7,"sender":{"id":"u"},
		"message":{"type":"text","text":"  "}}`), fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	// No timestamp: the time of arrival. Blank text: a readable placeholder.
	if !n.Inbound.SentAt.Equal(fixtureNow) {
		t.Errorf("sent at = %v, want %v", n.Inbound.SentAt, fixtureNow)
	}
	if n.Inbound.Text != "[empty message]" {
		t.Errorf("text = %q", n.Inbound.Text)
	}
	n, err = Normalize("vb", []byte(`{"event":"failed","timestamp":1457764197627,"message_token":7,"user_id":"u"}`), fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	if n.Delivery.Error == "" || n.Delivery.State != inbox.DeliveryFailed {
		t.Errorf("failed without desc = %+v", n.Delivery)
	}
	// A file name with a path keeps only its last element.
	n, err = Normalize("vb", []byte(`{"event":"message","message_token":8,"sender":{"id":"u"},
		"message":{"type":"file","media":"https://m/x","file_name":"..\\..\\etc/passwd.txt"}}`), fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Inbound.Attachments[0].Name; got != "passwd.txt" || strings.Contains(got, "/") {
		t.Errorf("name = %q", got)
	}
}

// NUL is valid JSON but no store keeps it: it goes before the fallbacks
// are chosen, so a text of NULs still reads as something.
func TestNormalizeStripsNUL(t *testing.T) {
	n, err := Normalize("vb", []byte(`{"event":"message","message_token":9,"timestamp":253402300800000,
		"sender":{"id":"u\u0000","name":"Jo\u0000hn"},"message":{"type":"text","text":"\u0000\u0000"}}`), fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	in := n.Inbound
	if in.Contact.ExternalID != "u" || in.Contact.Name != "John" || in.Title != "John" || in.Text != "[empty message]" {
		t.Errorf("inbound = %+v", in)
	}
	// A timestamp past year 9999 has no RFC 3339 form: the arrival time.
	if !in.SentAt.Equal(fixtureNow) {
		t.Errorf("sent at = %v", in.SentAt)
	}
}

func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event":"message","message_token":-1,"sender":{"id":"u"},"message":{"type":"contact","contact":{}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Normalize("vb", body, fixtureNow)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error outside ErrMalformed: %v", err)
			}
			return
		}
		if n.Event == "" {
			t.Fatal("no event")
		}
		if n.Inbound != nil && n.Delivery != nil {
			t.Fatal("both a message and a delivery report")
		}
		if in := n.Inbound; in != nil {
			if _, err := strconv.ParseInt(in.ExternalID, 10, 64); err != nil {
				if _, err := strconv.ParseUint(in.ExternalID, 10, 64); err != nil {
					t.Fatalf("external id %q is not an integer", in.ExternalID)
				}
			}
			if in.Contact.ExternalID == "" || in.Text == "" || in.Title == "" {
				t.Fatalf("incomplete inbound %+v", in)
			}
			for _, s := range []string{in.Text, in.Title, in.Contact.ExternalID, in.Contact.Name} {
				if strings.IndexByte(s, 0) >= 0 {
					t.Fatalf("NUL in %q", s)
				}
			}
			if in.SentAt.IsZero() || in.SentAt.Year() > 9999 {
				t.Fatal("no time")
			}
			// The journal may refuse it (too long an id), but only as
			// invalid input, never for a field we left out.
			if err := in.Validate(); err != nil && inbox.ErrorCode(err) != inbox.EInvalid && inbox.ErrorCode(err) != inbox.ETooLarge {
				t.Fatalf("validate: %v", err)
			}
		}
		if d := n.Delivery; d != nil && (d.ProviderID == "" || d.State == "") {
			t.Fatalf("incomplete delivery %+v", d)
		}
	})
}
