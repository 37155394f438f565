package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// TestHandleErrorUsesTheAdaptersTable: the API answers each code with the
// status and body every hook uses (adapters.StatusOf, adapters.BodyOf);
// only internal errors differ (500 here, 503 "retry" on a hook).
func TestHandleErrorUsesTheAdaptersTable(t *testing.T) {
	s := &Server{o: Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	e := echo.New()
	answer := func(err error, preset string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/api/v1/x", nil), w)
		if preset != "" {
			c.Response().Header().Set("Retry-After", preset)
		}
		s.handleError(err, c)
		return w
	}
	for _, code := range []string{inbox.EInvalid, inbox.EUnauthorized, inbox.EForbidden, inbox.ENotFound,
		inbox.EConflict, inbox.ETooLarge, inbox.ERateLimited, inbox.EUnavailable, inbox.EInternal} {
		w := answer(&inbox.Error{Code: code, Message: "m", Field: "f"}, "")
		if w.Code != adapters.StatusOf(code) {
			t.Errorf("%s: status %d, want %d", code, w.Code, adapters.StatusOf(code))
		}
		var b adapters.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error != (adapters.ErrorDetail{Code: code, Message: "m", Field: "f"}) {
			t.Errorf("%s: body %s (%v)", code, w.Body, err)
		}
		wantRA := ""
		if code == inbox.EUnavailable || code == inbox.ERateLimited {
			wantRA = adapters.RetryAfter
		}
		if got := w.Header().Get("Retry-After"); got != wantRA {
			t.Errorf("%s: Retry-After %q, want %q", code, got, wantRA)
		}
	}
	// A limiter's own Retry-After is kept.
	if w := answer(inbox.Errorf(inbox.ERateLimited, "too many"), "17"); w.Code != 429 || w.Header().Get("Retry-After") != "17" {
		t.Errorf("rate limited with its wait: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	// Anything without a code is internal: 500, a generic message.
	w := answer(errors.New("pq: password authentication failed"), "")
	if w.Code != 500 || w.Body.String() != `{"error":{"code":"internal","message":"internal error"}}`+"\n" {
		t.Errorf("internal: %d %s", w.Code, w.Body)
	}
}
