package hooksig

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/inboxd/inboxd/inbox"
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
	_, err := ReadBody(r, 5)
	if !errors.Is(err, ErrTooLarge) || inbox.ErrorCode(err) != inbox.ETooLarge ||
		inbox.ErrorMessage(err) != "the body is larger than 5 bytes" {
		t.Fatalf("ReadBody over limit err = %v (%s: %s), want ErrTooLarge, too_large naming the limit",
			err, inbox.ErrorCode(err), inbox.ErrorMessage(err))
	}
	// A limit set before (http.MaxBytesReader) is too large as well.
	r = httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 3)
	if _, err := ReadBody(r, 5); !errors.Is(err, ErrTooLarge) || inbox.ErrorCode(err) != inbox.ETooLarge {
		t.Fatalf("ReadBody over a MaxBytesReader err = %v, want too_large", err)
	}
	// A body that cannot be read is invalid input, not an internal error.
	r = httptest.NewRequest("POST", "/", iotest.ErrReader(errors.New("connection reset")))
	if _, err := ReadBody(r, 5); inbox.ErrorCode(err) != inbox.EInvalid {
		t.Fatalf("ReadBody of a failing body err = %v, want invalid", err)
	}
}

func TestEqual(t *testing.T) {
	if !Equal("a", "a") || Equal("a", "b") || Equal("", "") {
		t.Fatal("Equal misbehaves")
	}
}
