// Package hooksig holds what every webhook adapter shares: reading a
// bounded raw body and checking an HMAC-SHA256 signature over it in
// constant time, before anything parses the body.
package hooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxBody is the body limit webhook handlers use unless their
// channel sets another.
const DefaultMaxBody = 1 << 20

// ErrTooLarge is returned by ReadBody for a body over the limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads at most limit bytes of r's body; a longer body is
// ErrTooLarge (answer 413).
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// Sign returns hex(HMAC-SHA256(secret, body)).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig (hex, with an optional prefix such as
// "sha256=") is HMAC-SHA256(secret, body), compared in constant time. An
// empty secret never verifies.
func Verify(secret, body []byte, sig, prefix string) bool {
	if len(secret) == 0 || !strings.HasPrefix(sig, prefix) {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, prefix))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Equal compares two secrets (verify tokens, Telegram's secret token) in
// constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b)) && a != ""
}
