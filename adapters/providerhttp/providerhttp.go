// Package providerhttp holds what every provider client shares: JSON calls
// with a bounded response read, and the classification of a provider's
// answer into the outbox's terms (temporary, permanent, retry after).
package providerhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// MaxResponse bounds how much of a provider's answer is read.
const MaxResponse = 4 << 20

// DefaultTimeout is the per-call timeout when the caller's client has none.
const DefaultTimeout = 15 * time.Second

// Call sends a request with a JSON body (nil: none) and returns the status
// and the response body. Transport errors and timeouts are temporary.
func Call(ctx context.Context, c *http.Client, method, url string, headers map[string]string, body any) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, inbox.Permanent(fmt.Errorf("encode request: %w", err))
		}
		rd = bytes.NewReader(b)
	}
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		// The parse error quotes the URL: name it redacted instead.
		return 0, nil, nil, inbox.Permanent(fmt.Errorf("%s %s: not a valid URL", method, RedactURL(url)))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, RedactURL(url), Cause(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err != nil {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// Classify turns a non-2xx answer into an outbox error: 429 and 5xx are
// temporary (429 with the provider's Retry-After), other 4xx permanent,
// with reason (the provider's own message) in the text. It returns nil for
// 2xx.
func Classify(status int, h http.Header, reason string) error {
	if status >= 200 && status < 300 {
		return nil
	}
	err := fmt.Errorf("provider answered %d: %s", status, reason)
	switch {
	case status == http.StatusTooManyRequests:
		return inbox.RetryAfter(err, RetryAfterHeader(h))
	case status >= 500 || status == http.StatusRequestTimeout:
		return err
	}
	return inbox.Permanent(err)
}

// RetryAfterHeader parses a Retry-After header given in seconds or as an
// HTTP date; zero when absent or unreadable.
func RetryAfterHeader(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
