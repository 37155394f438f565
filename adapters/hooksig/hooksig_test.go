package hooksig

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	sig := Sign(secret, body)
	tests := []struct {
		name, sig, prefix string
		secret            []byte
		want              bool
	}{
		{"good with prefix", "sha256=" + sig, "sha256=", secret, true},
		{"good bare", sig, "", secret, true},
		{"missing prefix", sig, "sha256=", secret, false},
		{"wrong secret", "sha256=" + sig, "sha256=", []byte("other"), false},
		{"empty secret", "sha256=" + sig, "sha256=", nil, false},
		{"not hex", "sha256=zz", "sha256=", secret, false},
		{"empty", "", "sha256=", secret, false},
		{"uppercase hex", "sha256=" + strings.ToUpper(sig), "sha256=", secret, true},
	}
	for _, tt := range tests {
		if got := Verify(tt.secret, body, tt.sig, tt.prefix); got != tt.want {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("12345"))
	if b, err := ReadBody(r, 5); err != nil || string(b) != "12345" {
		t.Fatalf("ReadBody at limit = %q, %v", b, err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	if _, err := ReadBody(r, 5); err != ErrTooLarge {
		t.Fatalf("ReadBody over limit err = %v, want ErrTooLarge", err)
	}
}

func TestEqual(t *testing.T) {
	if !Equal("a", "a") || Equal("a", "b") || Equal("", "") {
		t.Fatal("Equal misbehaves")
	}
}
