// Package hooksig holds what every webhook adapter shares: reading a
// bounded raw body and checking an HMAC-SHA256 signature over it in
// constant time, before anything parses the body.
package hooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/inboxd/inboxd/inbox"
)

// DefaultMaxBody is the body limit webhook handlers use unless their
// channel sets another.
const DefaultMaxBody = 1 << 20

// ErrTooLarge matches (errors.Is) what ReadBody returns for a body over
// the limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads at most limit bytes of r's body. Its errors are
// *inbox.Error, for adapters.WriteError: a longer body is too_large (413,
// matching ErrTooLarge, the message naming the limit); a body that cannot
// be read is invalid (400).
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge(min(limit, mbe.Limit))
	case err != nil:
		return nil, fmt.Errorf("%w: %v", inbox.Invalid("body", "could not be read"), err)
	case int64(len(b)) > limit:
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: %w", &inbox.Error{Code: inbox.ETooLarge, Field: "body",
		Message: "the body is larger than " + strconv.FormatInt(limit, 10) + " bytes"}, ErrTooLarge)
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

// JSONProblem describes why a body did not decode as JSON, without echoing
// any of it: a client sees where, never what.
func JSONProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "malformed JSON: unexpected end"
	case errors.As(err, &se):
		return "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te) && te.Field == "":
		return "must be a JSON object"
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	}
	return "is not valid JSON"
}
