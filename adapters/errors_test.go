package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/inbox"
)

// TestStatusTable pins the one code→status table the API and every hook
// answer with.
func TestStatusTable(t *testing.T) {
	want := map[string]int{
		inbox.EInvalid: 400, inbox.EUnauthorized: 401, inbox.EForbidden: 403, inbox.ENotFound: 404,
		inbox.EConflict: 409, inbox.ETooLarge: 413, inbox.ERateLimited: 429, inbox.EUnavailable: 503,
		inbox.EInternal: 500, inbox.EUpstream: 502, inbox.E2FARequired: 401, inbox.E2FAEnrolment: 403,
	}
	for code, status := range want {
		if got := StatusOf(code); got != status {
			t.Errorf("StatusOf(%q) = %d, want %d", code, got, status)
		}
		// Wrapped, as stores and adapters return them.
		if got := HTTPStatus(fmt.Errorf("op: %w", inbox.Errorf(code, "m"))); got != status {
			t.Errorf("HTTPStatus(wrapped %q) = %d, want %d", code, got, status)
		}
	}
	if len(statusOf) != len(want) {
		t.Errorf("the table has %d codes, the test %d: pin the new one", len(statusOf), len(want))
	}
	for _, err := range []error{errors.New("driver: bad connection"), context.Canceled, &inbox.Error{Code: "bogus", Message: "m"}} {
		if got := HTTPStatus(err); got != 500 {
			t.Errorf("HTTPStatus(%v) = %d, want 500", err, got)
		}
	}
}

func TestBodyOf(t *testing.T) {
	b := BodyOf(fmt.Errorf("normalize: %w", inbox.Invalid("contact.id", "is required")))
	if b.Error != (ErrorDetail{Code: inbox.EInvalid, Message: "is required", Field: "contact.id"}) {
		t.Errorf("invalid: %+v", b.Error)
	}
	for _, err := range []error{errors.New("pq: password authentication failed"), &inbox.Error{Code: "bogus", Message: "secret detail"}} {
		if b := BodyOf(err); b.Error != (ErrorDetail{Code: inbox.EInternal, Message: "internal error"}) {
			t.Errorf("BodyOf(%v) = %+v, want the generic internal error", err, b.Error)
		}
	}
}

func TestSetRetryAfter(t *testing.T) {
	for code, want := range map[string]string{inbox.EUnavailable: RetryAfter, inbox.ERateLimited: RetryAfter,
		inbox.EInvalid: "", inbox.EInternal: "", inbox.ETooLarge: ""} {
		h := http.Header{}
		SetRetryAfter(h, code)
		if got := h.Get("Retry-After"); got != want {
			t.Errorf("%s: Retry-After %q, want %q", code, got, want)
		}
	}
	h := http.Header{"Retry-After": {"17"}} // a limiter's own wait stays
	SetRetryAfter(h, inbox.ERateLimited)
	if got := h.Get("Retry-After"); got != "17" {
		t.Errorf("Retry-After %q, want the handler's 17", got)
	}
}

// TestWriteError: a hook's answers, their log lines (once, at the right
// level), and no cause shown to the client.
func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		field      string
		retryAfter string
		level      string
	}{
		{"invalid", inbox.Invalid("body", "is not valid JSON"), 400, inbox.EInvalid, "body", "", "WARN"},
		{"unauthorized", inbox.Errorf(inbox.EUnauthorized, "wrong signature"), 401, inbox.EUnauthorized, "", "", "WARN"},
		{"forbidden", inbox.Errorf(inbox.EForbidden, "verification failed"), 403, inbox.EForbidden, "", "", "WARN"},
		{"not found", inbox.Errorf(inbox.ENotFound, "no webhook"), 404, inbox.ENotFound, "", "", "WARN"},
		{"too large", &inbox.Error{Code: inbox.ETooLarge, Field: "text", Message: "text is too long"}, 413, inbox.ETooLarge, "text", "", "WARN"},
		{"rate limited", inbox.Errorf(inbox.ERateLimited, "slow down"), 429, inbox.ERateLimited, "", RetryAfter, "WARN"},
		{"unavailable", fmt.Errorf("%w: dial tcp: connection refused", inbox.ErrUnavailable), 503, inbox.EUnavailable, "", RetryAfter, "WARN"},
		// Not stored on our side: the provider must retry, and is told when.
		{"internal", errors.New("pq: password authentication failed for user inboxd"), 503, inbox.EUnavailable, "", RetryAfter, "ERROR"},
		{"internal with a code", inbox.Errorf(inbox.EInternal, "the store cannot do this"), 503, inbox.EUnavailable, "", RetryAfter, "ERROR"},
		{"context", context.DeadlineExceeded, 503, inbox.EUnavailable, "", RetryAfter, "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := httptest.NewRecorder()
			WriteError(w, slog.New(slog.NewTextHandler(&logs, nil)), tt.err)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			var b ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if b.Error.Code != tt.code || b.Error.Field != tt.field || b.Error.Message == "" {
				t.Errorf("body %+v, want code %q field %q", b.Error, tt.code, tt.field)
			}
			if strings.Contains(w.Body.String(), "pq:") || strings.Contains(w.Body.String(), "dial tcp") ||
				strings.Contains(w.Body.String(), "deadline") {
				t.Errorf("the cause reached the client: %s", w.Body)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "level="+tt.level) ||
				!strings.Contains(lines[0], "err=") {
				t.Errorf("log %q, want one %s line with the err", logs.String(), tt.level)
			}
		})
	}
}

func TestProtocolAnswers(t *testing.T) {
	w := httptest.NewRecorder()
	MethodNotAllowed(w, "GET, POST")
	if w.Code != 405 || w.Header().Get("Allow") != "GET, POST" || !strings.Contains(w.Body.String(), `"code":"invalid"`) {
		t.Errorf("405: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	UnsupportedMediaType(w, "application/json")
	if w.Code != 415 || !strings.Contains(w.Body.String(), `"code":"invalid"`) {
		t.Errorf("415: %d %s", w.Code, w.Body)
	}
}
