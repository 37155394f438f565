package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// codeOf maps echo's own statuses (unknown route, wrong method) back to
// codes; the code→status table is adapters.StatusOf.
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
		body   adapters.ErrorBody
	)
	switch {
	case errors.As(err, &ie):
		// The adapters' table: the API and every hook answer a code alike.
		status, body = adapters.HTTPStatus(err), adapters.BodyOf(err)
		adapters.SetRetryAfter(c.Response().Header(), body.Error.Code)
		switch {
		case body.Error.Code == inbox.EUnavailable:
			s.o.Logger.Warn("unavailable", "request_id", requestID(c), "err", err)
		case body.Error.Code != ie.Code: // a code the table does not know
			s.o.Logger.Error("internal error", "request_id", requestID(c), "err", err)
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
		body.Error = adapters.ErrorDetail{Code: code, Message: msg}
		adapters.SetRetryAfter(c.Response().Header(), code)
	default:
		status, body = http.StatusInternalServerError, adapters.BodyOf(err)
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
