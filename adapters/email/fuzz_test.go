package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds the parser mutations of the corpus: whatever arrives,
// Parse must return an inbound the store accepts, without panicking (a
// recovered panic is reported in parse_error and fails the fuzz run too).
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	// Small MIME bombs, one over each structure limit.
	f.Add(nestedBomb(maxMIMEDepth + 2))
	f.Add(partsBomb(maxMIMEParts + 10))
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan Parsed, 1)
		go func() { done <- Parse("mail", raw, testOpts) }()
		var p Parsed
		select {
		case p = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse hangs on %q", raw)
		}
		if err := p.Inbound.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if strings.HasPrefix(p.Inbound.Meta[MetaParseError], "parser panic") {
			t.Fatalf("panic: %s", p.Inbound.Meta[MetaParseError])
		}
		if p.Limit != "" && p.Inbound.Meta[MetaLimit] != p.Limit {
			t.Fatalf("limit %q but meta %q", p.Limit, p.Inbound.Meta[MetaLimit])
		}
		if p.Bounce != nil && p.Bounce.ProviderID == "" {
			t.Fatalf("bounce without a message id")
		}
	})
}
