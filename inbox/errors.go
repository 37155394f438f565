package inbox

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: clients switch on them.
const (
	EInvalid      = "invalid"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	ETooLarge     = "too_large"
	EUnavailable  = "unavailable"
	ERateLimited  = "rate_limited"
	EInternal     = "internal"
	// EUpstream: a system inboxd called for the client (the ticket
	// system) failed; the message names what it answered.
	EUpstream = "upstream"
	// E2FARequired: the login needs a two-factor code ("code" or
	// "recovery_code"); the console shows the code field on it (401).
	E2FARequired = "2fa_required"
	// E2FAEnrolment: auth.require_2fa holds and the caller has not
	// enrolled; only the enrolment routes, GET /api/v1/me and logout
	// answer until it does (403).
	E2FAEnrolment = "2fa_enrolment_required"
)

// Error is a domain error with a code the API maps to a status. Message is
// safe to show to a client; internal causes are never put into it.
type Error struct {
	Code    string
	Message string
	// Field names the input at fault, for invalid input.
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error that names the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EInternal for errors without one.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrUnavailable is returned when the store cannot be reached; webhook
// handlers answer 503 on it so that providers retry.
var ErrUnavailable = &Error{Code: EUnavailable, Message: "storage unavailable, retry later"}
