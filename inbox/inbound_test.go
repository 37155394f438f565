package inbox

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSanitizeBoundsContact: a provider's over-long contact fields are cut
// at a character boundary (never refused: the message must not be lost);
// invalid bytes survive the cut for Validate to refuse.
func TestSanitizeBoundsContact(t *testing.T) {
	long := strings.Repeat("Ж", 300_000) // 600 KB
	meta := map[string]string{"page_url": strings.Repeat("x", 5000), "lang": "fi"}
	in := Inbound{ChannelID: "crm", ExternalID: "m1", Text: "hi", Contact: ContactInfo{ExternalID: "c1",
		Name: long, Username: "@" + long, Email: strings.Repeat("a", 300) + "@example.com",
		Phone: "+" + strings.Repeat("1", 100), Meta: meta}}
	in.Sanitize()
	c := in.Contact
	if n := utf8.RuneCountInString(c.Name); n != MaxContactNameRunes || !utf8.ValidString(c.Name) {
		t.Fatalf("name: %d characters, valid %v", n, utf8.ValidString(c.Name))
	}
	if n := utf8.RuneCountInString(c.Username); n != MaxContactNameRunes || !strings.HasPrefix(c.Username, "@Ж") {
		t.Fatalf("username: %d characters %q", n, c.Username[:10])
	}
	if len(c.Email) != MaxContactEmailBytes || len(c.Phone) != MaxContactPhoneBytes {
		t.Fatalf("email %d bytes, phone %d bytes", len(c.Email), len(c.Phone))
	}
	if len(c.Meta["page_url"]) != MaxContactMetaBytes || c.Meta["lang"] != "fi" || len(meta["page_url"]) != 5000 {
		t.Fatalf("meta: %d bytes (the adapter's map: %d)", len(c.Meta["page_url"]), len(meta["page_url"]))
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	short := Inbound{Contact: ContactInfo{Name: "Ann", Email: "ann@example.com"}}
	short.Sanitize()
	if short.Contact.Name != "Ann" || short.Contact.Email != "ann@example.com" {
		t.Fatalf("short fields changed: %+v", short.Contact)
	}
	bad := Inbound{ChannelID: "crm", ExternalID: "m1", Text: "hi", Contact: ContactInfo{ExternalID: "c1",
		Name: "\xff" + strings.Repeat("a", 500)}}
	bad.Sanitize()
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "contact.name") {
		t.Fatalf("invalid UTF-8 in a long name: %v", err)
	}
}
