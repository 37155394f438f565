package adapters

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/inboxd/inboxd/inbox"
)

// statusOf maps error codes to HTTP statuses: the one table, read by the
// API's error handler and by every hook (through WriteError).
var statusOf = map[string]int{
	inbox.EInvalid:      http.StatusBadRequest,
	inbox.EUnauthorized: http.StatusUnauthorized,
	inbox.EForbidden:    http.StatusForbidden,
	inbox.ENotFound:     http.StatusNotFound,
	inbox.EConflict:     http.StatusConflict,
	inbox.ETooLarge:     http.StatusRequestEntityTooLarge,
	inbox.ERateLimited:  http.StatusTooManyRequests,
	inbox.EUnavailable:  http.StatusServiceUnavailable,
	inbox.EInternal:     http.StatusInternalServerError,
	inbox.EUpstream:     http.StatusBadGateway,
	inbox.E2FARequired:  http.StatusUnauthorized,
	inbox.E2FAEnrolment: http.StatusForbidden,
}

// RetryAfter is the Retry-After (seconds) of an unavailable or rate-limited
// answer whose handler did not choose its own.
const RetryAfter = "5"

// StatusOf returns the HTTP status of an error code; 500 for a code the
// table does not know.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// HTTPStatus returns the HTTP status err is answered with: its code's, 500
// for an error without a code.
func HTTPStatus(err error) int { return StatusOf(inbox.ErrorCode(err)) }

// ErrorBody is the body of every error answer, the API's and the hooks':
// {"error":{"code","message","field"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is what an error answer says: a code clients switch on, a
// message for people, the input at fault.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// BodyOf returns the body err is answered with. An *inbox.Error's message
// is safe to show (that is its contract); any other error is internal and
// shown as "internal error", never its text.
func BodyOf(err error) ErrorBody {
	var ie *inbox.Error
	if !errors.As(err, &ie) {
		return ErrorBody{ErrorDetail{Code: inbox.EInternal, Message: "internal error"}}
	}
	if _, known := statusOf[ie.Code]; !known {
		return ErrorBody{ErrorDetail{Code: inbox.EInternal, Message: "internal error"}}
	}
	return ErrorBody{ErrorDetail{Code: ie.Code, Message: ie.Message, Field: ie.Field}}
}

// SetRetryAfter sets Retry-After on an unavailable or rate-limited answer,
// unless its handler set one (a rate limiter knows its wait).
func SetRetryAfter(h http.Header, code string) {
	if (code == inbox.EUnavailable || code == inbox.ERateLimited) && h.Get("Retry-After") == "" {
		h.Set("Retry-After", RetryAfter)
	}
}

// errNotStored is a hook's answer to a failure on our side.
var errNotStored = &inbox.Error{Code: inbox.EUnavailable, Message: "not stored, retry later"}

// WriteError answers a hook's request that failed with err, through the
// one table: the provider's input errors are 4xx with their code, message
// and field (a permanently bad request is never answered 5xx, which would
// make the provider retry it forever).
//
// A failure on our side is always 503 unavailable with Retry-After, never
// 2xx: what was not stored must be retried (providers retry on any non-2xx;
// 503 + Retry-After also says when). An internal error's text is logged
// here, once, and never shown. Callers do not log the error again.
func WriteError(w http.ResponseWriter, log *slog.Logger, err error) {
	if log == nil {
		log = slog.Default()
	}
	status := HTTPStatus(err)
	body := BodyOf(err)
	switch {
	case status < http.StatusInternalServerError:
		log.Warn("hook request refused", "status", status, "code", body.Error.Code, "err", err)
	case body.Error.Code == inbox.EUnavailable:
		log.Warn("hook request not stored, the sender retries", "status", status, "err", err)
	default:
		log.Error("hook request failed, the sender retries", "err", err)
		status, body = http.StatusServiceUnavailable, BodyOf(errNotStored)
	}
	SetRetryAfter(w.Header(), body.Error.Code)
	write(w, status, body)
}

// MethodNotAllowed answers a hook's request with a method it does not take
// (405, code invalid, as the API answers it).
func MethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	write(w, http.StatusMethodNotAllowed, ErrorBody{ErrorDetail{Code: inbox.EInvalid, Message: "use " + allow}})
}

// UnsupportedMediaType answers a hook's request whose Content-Type it does
// not read (415, code invalid, as the API answers it).
func UnsupportedMediaType(w http.ResponseWriter, want string) {
	write(w, http.StatusUnsupportedMediaType, ErrorBody{ErrorDetail{Code: inbox.EInvalid, Message: "Content-Type must be " + want}})
}

func write(w http.ResponseWriter, status int, body ErrorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
