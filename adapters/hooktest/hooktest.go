// Package hooktest is the error contract every hook is tested against: the
// same refusals and failures, answered alike (status, code, Retry-After)
// through adapters.WriteError. Each adapter's hook test calls Run.
package hooktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

// Hook is one adapter's hook under test.
type Hook struct {
	// Post sends body to the hook, validly signed when signed is true,
	// signed with a wrong secret otherwise.
	Post func(body []byte, signed bool) *httptest.ResponseRecorder
	// Valid is a body the hook stores.
	Valid []byte
	// MaxBody is the hook's body limit.
	MaxBody int64
	// Ingest is the hook's ingester.
	Ingest *inboxtest.Ingester
}

// Want is how a case must be answered.
type Want struct {
	Status int
	Code   string
	Field  string
	// RetryAfter: the answer tells the provider to retry, and when.
	RetryAfter bool
}

// The answers every hook gives.
var (
	TooLarge     = Want{Status: http.StatusRequestEntityTooLarge, Code: inbox.ETooLarge, Field: "body"}
	Malformed    = Want{Status: http.StatusBadRequest, Code: inbox.EInvalid, Field: "body"}
	BadSignature = Want{Status: http.StatusUnauthorized, Code: inbox.EUnauthorized}
	Unavailable  = Want{Status: http.StatusServiceUnavailable, Code: inbox.EUnavailable, RetryAfter: true}
	TextTooLarge = Want{Status: http.StatusRequestEntityTooLarge, Code: inbox.ETooLarge, Field: "text"}
	Refused      = Want{Status: http.StatusBadRequest, Code: inbox.EInvalid, Field: "contact.id"}
)

// driverText stands for a store error's own text, which no client may see.
const driverText = "pq: password authentication failed for user inboxd at 10.0.0.7"

// Run sends each case to the hook and checks its answer; nothing may be
// stored by any of them, and the valid body is stored afterwards.
func Run(t *testing.T, h Hook) {
	t.Helper()
	cases := []struct {
		name   string
		body   []byte
		signed bool
		fail   error
		want   Want
	}{
		{"body over the limit", bytes.Repeat([]byte(" "), int(h.MaxBody)+1), true, nil, TooLarge},
		{"malformed JSON, valid signature", []byte(`{"`), true, nil, Malformed},
		{"wrong signature", h.Valid, false, nil, BadSignature},
		{"store unavailable", h.Valid, true, inbox.ErrUnavailable, Unavailable},
		{"store error without a code", h.Valid, true, errors.New(driverText), Unavailable},
		{"journal refuses a text too large", h.Valid, true,
			&inbox.Error{Code: inbox.ETooLarge, Field: "text", Message: "text is too long"}, TextTooLarge},
		{"journal refuses invalid input", h.Valid, true, inbox.Invalid("contact.id", "is not known"), Refused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.Ingest.SetFail(tc.fail)
			defer h.Ingest.SetFail(nil)
			Check(t, h.Post(tc.body, tc.signed), tc.want)
		})
	}
	if n := len(h.Ingest.Stored()); n != 0 {
		t.Fatalf("%d messages stored from refused or failed requests", n)
	}
	if w := h.Post(h.Valid, true); w.Code/100 != 2 || len(h.Ingest.Stored()) == 0 {
		t.Fatalf("valid body: status %d (%s), %d stored; want 2xx, stored", w.Code, w.Body, len(h.Ingest.Stored()))
	}
}

// Check asserts w is the error answer want: status, the JSON body's code,
// a message, the field, Retry-After, and no store text.
func Check(t *testing.T, w *httptest.ResponseRecorder, want Want) {
	t.Helper()
	if w.Code != want.Status {
		t.Fatalf("status %d, want %d; body %s", w.Code, want.Status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q is not the error JSON: %v", w.Body, err)
	}
	if b.Error.Code != want.Code || b.Error.Message == "" || b.Error.Field != want.Field {
		t.Errorf("error %+v, want code %q, a message, field %q", b.Error, want.Code, want.Field)
	}
	if got := w.Header().Get("Retry-After"); (got != "") != want.RetryAfter || (want.RetryAfter && got != "5") {
		t.Errorf("Retry-After %q, want it set (5): %v", got, want.RetryAfter)
	}
	if strings.Contains(w.Body.String(), "password") || strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("the store's text reached the client: %s", w.Body)
	}
}
