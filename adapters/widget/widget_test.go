package widget

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func build(t *testing.T, conf string) (*Channel, error) {
	t.Helper()
	ac := adapters.Config{ID: "site", Kind: Kind, Queue: "support", Decode: func(into any) error {
		dec := yaml.NewDecoder(strings.NewReader(conf))
		dec.KnownFields(true)
		if err := dec.Decode(into); err != nil && err.Error() != "EOF" {
			return err
		}
		return nil
	}}
	ch, err := New(ac, adapters.Deps{Clock: &fixedClock{time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		return nil, err
	}
	return ch.(*Channel), nil
}

func mustBuild(t *testing.T, conf string) *Channel {
	t.Helper()
	c, err := build(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, c := range []struct{ conf, key string }{
		{`allowed_origins: ["example.com"]`, "allowed_origins[0]"},
		{`allowed_origins: ["https://example.com/path"]`, "allowed_origins[0]"},
		{`lang: sv`, "lang"},
		{`strings: {en: {nope: x}}`, "strings.en.nope"},
		{`colors: {primary: "red; background: url(x)"}`, "colors.primary"},
		{`position: top`, "position"},
		{`max_message_length: -1`, "max_message_length"},
		{`rate_limits: {ip_per_minute: -5}`, "rate_limits"},
	} {
		_, err := build(t, c.conf)
		if err == nil || !strings.HasPrefix(err.Error(), c.key+":") {
			t.Errorf("%s: err = %v, want one naming %s", c.conf, err, c.key)
		}
	}
	c := mustBuild(t, `{allowed_origins: ["https://Shop.Example/", "*"], lang: sv, strings: {sv: {launcher: "Öppna chatten"}}}`)
	if c.cfg.AllowedOrigins[0] != "https://shop.example" || c.cfg.Position != "right" || c.MaxMessageLength() != DefaultMaxMessageLength {
		t.Fatalf("normalized config: %+v", c.cfg)
	}
}

func TestEveryLanguageHasEveryString(t *testing.T) {
	for lang, m := range translations {
		for k := range translations["en"] {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for k := range m {
			if _, ok := translations["en"][k]; !ok {
				t.Errorf("%s has unknown key %q", lang, k)
			}
		}
	}
	for _, want := range []string{"en", "fi", "de", "uk", "nl"} {
		if _, ok := translations[want]; !ok {
			t.Errorf("%s is not shipped", want)
		}
	}
}

func TestSettingsLanguage(t *testing.T) {
	c := mustBuild(t, `{strings: {fi: {title: "Hei!"}, sv: {launcher: "Öppna chatten"}}, colors: {primary: "#0b6e4f"}, position: left}`)
	for _, tc := range []struct{ accept, lang, launcher string }{
		{"fi-FI,fi;q=0.9,en;q=0.8", "fi", "Avaa chat"},
		{"uk", "uk", "Відкрити чат"},
		{"nl-BE", "nl", "Chat openen"},
		{"sv-SE", "sv", "Öppna chatten"}, // a language of the config's own
		{"ja,de;q=0.5", "de", "Chat öffnen"},
		{"", "en", "Open chat"},
		{"xx-" + strings.Repeat("y", 100), "en", "Open chat"},
	} {
		s := c.Settings(tc.accept)
		if s.Lang != tc.lang || s.Strings["launcher"] != tc.launcher {
			t.Errorf("Settings(%q) = %s %q, want %s %q", tc.accept, s.Lang, s.Strings["launcher"], tc.lang, tc.launcher)
		}
	}
	s := c.Settings("fi")
	if s.Strings["title"] != "Hei!" || s.Strings["send"] != "Lähetä" || s.Colors.Primary != "#0b6e4f" || s.Position != "left" {
		t.Fatalf("override: %+v", s)
	}
	// sv has only launcher: the rest falls back to English.
	if s := c.Settings("sv"); s.Strings["send"] != "Send" {
		t.Fatalf("fallback: %q", s.Strings["send"])
	}
	// A fixed lang wins over the browser.
	if s := mustBuild(t, `lang: de`).Settings("fi"); s.Lang != "de" {
		t.Fatalf("fixed lang: %s", s.Lang)
	}
}

func TestVerifyUser(t *testing.T) {
	c := mustBuild(t, `identity_secret: s3cret`)
	good := SignUser("s3cret", "42")
	if err := c.VerifyUser("42", good); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyUser("42", strings.ToUpper(good)); err != nil {
		t.Fatalf("upper-case hex: %v", err)
	}
	for _, tc := range []struct{ id, hash, code string }{
		{"43", good, inbox.EForbidden},
		{"42", good[:62], inbox.EForbidden},
		{"42", "not hex", inbox.EForbidden},
		{"42", SignUser("other", "42"), inbox.EForbidden},
		{"", good, inbox.EInvalid},
		{"a\nb", SignUser("s3cret", "a\nb"), inbox.EInvalid},
		{strings.Repeat("x", MaxUserIDBytes+1), "", inbox.EInvalid},
	} {
		if err := c.VerifyUser(tc.id, tc.hash); inbox.ErrorCode(err) != tc.code {
			t.Errorf("VerifyUser(%q, %q) = %v, want %s", tc.id, tc.hash, err, tc.code)
		}
	}
	if err := mustBuild(t, ``).VerifyUser("42", good); inbox.ErrorCode(err) != inbox.EInvalid {
		t.Fatalf("no secret: %v", err)
	}
	tok, hash, key, verified, err := c.NewVisitor("42", good)
	if err != nil || !verified || key != "user:42" || HashToken(tok) != hash || len(tok) < 40 {
		t.Fatalf("NewVisitor: %q %q %q %v %v", tok, hash, key, verified, err)
	}
	tok2, _, key2, verified, _ := c.NewVisitor("", "")
	if verified || !strings.HasPrefix(key2, "v_") || tok2 == tok {
		t.Fatalf("anonymous visitor: %q %v", key2, verified)
	}
}

func TestAllowOrigin(t *testing.T) {
	c := mustBuild(t, `allowed_origins: ["https://shop.example"]`)
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"https://shop.example", "inboxd.example", true},
		{"HTTPS://SHOP.EXAMPLE", "inboxd.example", true},
		{"http://shop.example", "inboxd.example", false},
		{"https://shop.example.evil.example", "inboxd.example", false},
		{"https://evil.example", "inboxd.example", false},
		{"null", "inboxd.example", false},
		{"https://inboxd.example", "inboxd.example", true}, // inboxd's own page
		{"", "inboxd.example", true},                       // not a cross-site browser call
	} {
		if got := c.AllowOrigin(tc.origin, tc.host); got != tc.want {
			t.Errorf("AllowOrigin(%q) = %v", tc.origin, got)
		}
	}
	if !mustBuild(t, `allowed_origins: ["*"]`).AllowOrigin("https://any.example", "x") {
		t.Fatal("* refused")
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(60) // one a second, burst 15
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 15; i++ {
		if d := l.allow("a", now); d != 0 {
			t.Fatalf("request %d limited: %v", i, d)
		}
	}
	if d := l.allow("a", now); d != time.Second {
		t.Fatalf("16th: wait %v, want 1s", d)
	}
	if d := l.allow("b", now); d != 0 {
		t.Fatalf("another key limited: %v", d)
	}
	if d := l.allow("a", now.Add(time.Second)); d != 0 {
		t.Fatalf("after a second: %v", d)
	}
	// Idle keys are forgotten.
	l.allow("c", now.Add(10*time.Minute))
	if _, ok := l.keys["b"]; ok {
		t.Fatal("idle key kept")
	}
}

func TestInbound(t *testing.T) {
	c := mustBuild(t, `max_message_length: 10`)
	in, err := c.Inbound(Post{ContactKey: "v_abc", ClientID: "client-01", Text: "  hello  ", Email: "a@example.com",
		Meta: map[string]string{MetaPageURL: "https://shop.example/\x00a\nb", MetaBrowser: strings.Repeat("é", 1000), MetaReferrer: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if in.ExternalID != "v_abc/client-01" || in.Contact.ExternalID != "v_abc" || in.Text != "hello" || in.ChannelID != "site" ||
		in.Contact.Email != "a@example.com" {
		t.Fatalf("inbound: %+v", in)
	}
	if in.Contact.Meta[MetaPageURL] != "https://shop.example/ab" || len(in.Contact.Meta[MetaBrowser]) > maxMetaBytes {
		t.Fatalf("meta: %q", in.Contact.Meta)
	}
	if _, ok := in.Contact.Meta[MetaReferrer]; ok {
		t.Fatal("empty meta kept (it would erase the stored value)")
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("the normalized inbound is invalid: %v", err)
	}
	for _, p := range []Post{
		{ContactKey: "v", ClientID: "short", Text: "hi"},
		{ContactKey: "v", ClientID: "client-01", Text: "ääääääääääx"},
		{ContactKey: "v", ClientID: "client-01", Text: "\xff"},
		{ContactKey: "v", ClientID: "client-01", Text: " "},
		{ContactKey: "v", ClientID: "client-01", Text: "hi", Email: "not an address"},
		{ContactKey: "v", ClientID: "client-01", Text: "hi", Email: "Name <a@example.com>"},
	} {
		if _, err := c.Inbound(p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	if _, err := c.Inbound(Post{ContactKey: "v", ClientID: "client-01", Text: "ääääääääää"}); err != nil {
		t.Fatalf("10 characters (20 bytes): %v", err)
	}
}
