package providerhttp

import (
	"io"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/inbox"
)

func TestCapBody(t *testing.T) {
	exact := CapBody(io.NopCloser(strings.NewReader("abcd")), 4)
	if b, err := io.ReadAll(exact); err != nil || string(b) != "abcd" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	over := CapBody(io.NopCloser(strings.NewReader("abcde")), 4)
	if _, err := io.ReadAll(over); inbox.ErrorCode(err) != inbox.ETooLarge {
		t.Errorf("over the limit: %v, want too_large", err)
	}
}
