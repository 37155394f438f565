package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// statusOf maps error codes to HTTP statuses: the one place that does.
var statusOf = map[string]int{
	inbox.EInvalid:      http.StatusBadRequest,
	inbox.EUnauthorized: http.StatusUnauthorized,
	inbox.EForbidden:    http.StatusForbidden,
	inbox.ENotFound:     http.StatusNotFound,
	inbox.EConflict:     http.StatusConflict,
	inbox.ETooLarge:     http.StatusRequestEntityTooLarge,
	inbox.EUnavailable:  http.StatusServiceUnavailable,
	inbox.ERateLimited:  http.StatusTooManyRequests,
	inbox.EInternal:     http.StatusInternalServerError,
}

// codeOf maps echo's own statuses (unknown route, wrong method) back.
var codeOf = map[int]string{
	http.StatusBadRequest:            inbox.EInvalid,
	http.StatusUnauthorized:          inbox.EUnauthorized,
	http.StatusForbidden:             inbox.EForbidden,
	http.StatusNotFound:              inbox.ENotFound,
	http.StatusMethodNotAllowed:      inbox.EInvalid,
	http.StatusRequestEntityTooLarge: inbox.ETooLarge,
	http.StatusUnsupportedMediaType:  inbox.EInvalid,
	http.StatusTooManyRequests:       inbox.ERateLimited,
	http.StatusServiceUnavailable:    inbox.EUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// handleError writes the error envelope. Internal errors are logged once,
// here, and shown as a generic message: never driver text to a client.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		he     *echo.HTTPError
		ie     *inbox.Error
		status int
		body   errorBody
	)
	switch {
	case errors.As(err, &ie):
		status = statusOf[ie.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		body.Error = errorDetail{Code: ie.Code, Message: ie.Message, Field: ie.Field}
		if ie.Code == inbox.EUnavailable {
			c.Response().Header().Set("Retry-After", "5")
			s.o.Logger.Warn("unavailable", "request_id", requestID(c), "err", err)
		}
	case errors.As(err, &he):
		status = he.Code
		code := codeOf[status]
		if code == "" {
			code = inbox.EInternal
		}
		msg, _ := he.Message.(string)
		if msg == "" {
			msg = http.StatusText(status)
		}
		body.Error = errorDetail{Code: code, Message: msg}
	default:
		status = http.StatusInternalServerError
		body.Error = errorDetail{Code: inbox.EInternal, Message: "internal error"}
		s.o.Logger.Error("internal error", "request_id", requestID(c), "method", c.Request().Method,
			"path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	c.JSON(status, body)
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
