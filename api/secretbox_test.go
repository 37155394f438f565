package api

import (
	"strings"
	"testing"
)

// TestSecretBox: a sealed secret opens for its user only, and not
// without the key or with another; plain secrets stay readable.
func TestSecretBox(t *testing.T) {
	box, err := NewSecretBox("a-key-of-enough-length")
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal(7, "JBSWY3DPEHPK3PXP")
	if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("sealed: %q", sealed)
	}
	if got, err := box.Open(7, sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := box.Open(8, sealed); err == nil {
		t.Fatal("opened for another user")
	}
	other, _ := NewSecretBox("another-key-of-enough-length")
	if _, err := other.Open(7, sealed); err == nil {
		t.Fatal("opened with another key")
	}
	plain, _ := NewSecretBox("")
	if _, err := plain.Open(7, sealed); err == nil {
		t.Fatal("opened without a key")
	}
	if got, err := box.Open(7, plain.Seal(7, "ABC")); err != nil || got != "ABC" {
		t.Fatalf("plain secret with a key: %q %v", got, err)
	}
	if _, err := NewSecretBox("short"); err == nil {
		t.Fatal("a short key accepted")
	}
}
