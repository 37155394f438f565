package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
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
	// A raw NUL is malformed JSON; the escape \u0000 is not, and no store
	// keeps it (PostgreSQL refuses it with an error).
	if bytes.Contains(body, []byte(`\u0000`)) {
		if field := nulField(reflect.ValueOf(into), "body"); field != "" {
			return inbox.Invalid(field, "must not contain NUL characters")
		}
	}
	return nil
}

// nulField returns the JSON name of the first string in v holding a NUL
// character ("" when none): "name", "answers.topic", "items[2]".
func nulField(v reflect.Value, at string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulField(v.Elem(), at)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return at
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = at // embedded: its fields are the parent's
			} else if at != "body" {
				name = at + "." + name
			}
			if got := nulField(v.Field(i), name); got != "" {
				return got
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			name := fmt.Sprint(k.Interface())
			if strings.IndexByte(name, 0) >= 0 {
				name = strings.ReplaceAll(name, "\x00", "")
				if at != "body" {
					name = at + "." + name
				}
				return name
			}
			if at != "body" {
				name = at + "." + name
			}
			if got := nulField(iter.Value(), name); got != "" {
				return got
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return "" // []byte: base64 in JSON, binary by design
		}
		for i := 0; i < v.Len(); i++ {
			if got := nulField(v.Index(i), fmt.Sprintf("%s[%d]", at, i)); got != "" {
				return got
			}
		}
	}
	return ""
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
