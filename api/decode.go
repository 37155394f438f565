package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// decodeJSON reads a JSON body strictly: JSON content type, valid UTF-8
// (encoding/json would silently replace bad bytes), no unknown fields, one
// value.
func decodeJSON(c echo.Context, into any) error {
	r := c.Request()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
		}
		return inbox.Invalid("body", "could not be read")
	}
	if !utf8.Valid(body) {
		return inbox.Invalid("body", "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return inbox.Invalid("body", "malformed JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return inbox.Invalid(te.Field, "has the wrong type")
		case errors.Is(err, io.EOF):
			return inbox.Invalid("body", "is empty")
		}
		return inbox.Invalid("body", "%s", err.Error())
	}
	if dec.More() {
		return inbox.Invalid("body", "holds more than one JSON value")
	}
	return nil
}

// queryInt reads an optional integer query parameter.
func queryInt(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, inbox.Invalid(name, "must be a non-negative integer")
	}
	return n, nil
}
