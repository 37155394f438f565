package widget

import (
	"testing"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// FuzzInbound: whatever a visitor sends, Inbound never panics, and what it
// accepts passes the journal's own validation with bounded meta.
func FuzzInbound(f *testing.F) {
	f.Add("client-0001", "hello", "", "https://shop.example/", "fi-FI")
	f.Add("bad id", "<img src=x onerror=alert(1)>", "a@example.com", "\x00\n", "")
	f.Add("client-0002", "\xff\xfe", "x@y", "", "de")
	cfg := Config{MaxMessageLength: 100}
	if err := cfg.validate(); err != nil {
		f.Fatal(err)
	}
	c := &Channel{id: "site", cfg: cfg, clock: inbox.SystemClock{}, ips: newLimiter(60), visitors: newLimiter(60)}
	f.Fuzz(func(t *testing.T, clientID, text, email, page, lang string) {
		in, err := c.Inbound(Post{ContactKey: "v_key", ClientID: clientID, Text: text, Email: email,
			Meta: map[string]string{MetaPageURL: page, MetaLanguage: lang}})
		if err != nil {
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted an invalid inbound: %v", err)
		}
		for k, v := range in.Contact.Meta {
			if len(v) > maxMetaBytes || !utf8.ValidString(v) {
				t.Fatalf("meta %s unbounded or invalid: %q", k, v)
			}
		}
		_ = c.Settings(lang)
	})
}
