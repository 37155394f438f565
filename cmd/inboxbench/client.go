package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// localHost reports whether host names this machine. The tool generates
// real load, so it refuses anything else: pointing it at a shared or
// production server by mistake must be impossible.
func localHost(host string) bool {
	switch strings.ToLower(host) {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// checkBaseURL parses an http(s) URL to the daemon and refuses other hosts.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url: must be http://127.0.0.1:PORT or http://localhost:PORT, got %q", raw)
	}
	if !localHost(u.Hostname()) {
		return "", fmt.Errorf("--url: host %q refused: inboxbench only targets 127.0.0.1 or localhost", u.Hostname())
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// Client talks to one daemon's HTTP API.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// newClient returns a client whose transport keeps up to conns idle
// connections, so concurrent senders reuse theirs instead of paying a TCP
// handshake per request (which would be measured as latency).
func newClient(base string, conns int, timeout time.Duration) *Client {
	tr := &http.Transport{
		Proxy:               nil, // never route the load through a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{base: base, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// authFlags are the ways to authenticate as an owner or admin.
type authFlags struct {
	token, email, password string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.token, "token", os.Getenv("INBOXBENCH_TOKEN"), "API token of an owner or admin (env INBOXBENCH_TOKEN); or use --email/--password")
	fs.StringVar(&a.email, "email", envOr("INBOXD_OWNER_EMAIL", "owner@example.com"), "owner/admin email to log in with (env INBOXD_OWNER_EMAIL)")
	fs.StringVar(&a.password, "password", os.Getenv("INBOXD_OWNER_PASSWORD"), "password to log in with (env INBOXD_OWNER_PASSWORD)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// authenticate sets the client's bearer token from --token or by logging in.
func (c *Client) authenticate(ctx context.Context, a authFlags) error {
	if a.token != "" {
		c.token = a.token
		return nil
	}
	if a.password == "" {
		return errors.New("--token or --password (with --email) is required to read the API")
	}
	tok, err := c.login(ctx, a.email, a.password)
	if err != nil {
		return err
	}
	c.token = tok
	return nil
}

// login exchanges credentials for a bearer token.
func (c *Client) login(ctx context.Context, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("log in as %s: %s: %s", email, resp.Status, bytes.TrimSpace(b))
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("log in: no token in the answer: %s", bytes.TrimSpace(b))
	}
	return out.Token, nil
}

// timing is one API call's latency as the client saw it, and the
// server's own figure when it sent a Server-Timing header.
type timing struct {
	client time.Duration
	server time.Duration // 0: not reported
}

// getJSON GETs path (with the bearer token) and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) (timing, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return timing{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return timing{}, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	t := timing{client: time.Since(start), server: serverTiming(resp.Header.Get("Server-Timing"))}
	if err != nil {
		return t, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(truncate(b, 300)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return t, fmt.Errorf("GET %s: decode: %w", path, err)
		}
	}
	return t, nil
}

// serverTiming sums the dur= metrics of a Server-Timing header
// ("db;dur=1.2, app;dur=0.4"), in milliseconds per the specification.
func serverTiming(h string) time.Duration {
	var total float64
	for _, metric := range strings.Split(h, ",") {
		for _, p := range strings.Split(metric, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
					total += f
				}
			}
		}
	}
	return time.Duration(total * float64(time.Millisecond))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// sign returns the X-Inboxd-Signature value for body: "sha256=" and the
// hex HMAC-SHA256 of the raw body under secret.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhookMessage is the webhook channel's inbound body.
type webhookMessage struct {
	MessageID string `json:"message_id"`
	Contact   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"contact"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sent_at"`
}

// ack is the webhook channel's 202 answer.
type ack struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	Duplicate      bool  `json:"duplicate"`
}

// postResult is one webhook POST's outcome; status 0 is a transport error.
type postResult struct {
	status     int
	ack        ack
	retryAfter time.Duration
	err        error
}

// postSigned POSTs one signed message to /hooks/webhook/<channel>.
func (c *Client) postSigned(ctx context.Context, channel, secret string, m *webhookMessage) postResult {
	body, err := json.Marshal(m)
	if err != nil {
		return postResult{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/hooks/webhook/"+url.PathEscape(channel), bytes.NewReader(body))
	if err != nil {
		return postResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", sign(secret, body))
	resp, err := c.http.Do(req)
	if err != nil {
		return postResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	r := postResult{status: resp.StatusCode}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		r.retryAfter = time.Duration(s) * time.Second
	}
	if err != nil {
		// The status arrived but the body did not: not an acknowledgement
		// we can trust, so the message is retried (the daemon dedupes).
		r.status, r.err = 0, err
		return r
	}
	if resp.StatusCode/100 != 2 {
		r.err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(truncate(b, 200)))
		return r
	}
	if err := json.Unmarshal(b, &r.ack); err != nil {
		r.err = fmt.Errorf("%s with an undecodable body: %w", resp.Status, err)
	}
	return r
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	ID    string
	Event string
	Data  string
}

// maxSSELine bounds one SSE line; the feed's events are small JSON.
const maxSSELine = 1 << 20

// readSSE parses an event stream per the HTML specification's rules
// (fields id, event, data; comments start with ':'; a blank line
// dispatches; "data" lines join with '\n'; one optional space after the
// colon is dropped; CRLF, LF and CR all end lines) and calls fn for each
// event that has data. It returns fn's error, the reader's, or nil at EOF.
func readSSE(r io.Reader, fn func(sseEvent) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSSELine)
	sc.Split(scanSSELines)
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if hasData {
				ev.Data = data.String()
				if err := fn(ev); err != nil {
					return err
				}
			}
			// The id persists across events (it is the stream's last id);
			// the type and data reset.
			ev = sseEvent{ID: ev.ID}
			data.Reset()
			hasData = false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "event":
			ev.Event = value
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID = value
			}
		}
	}
	return sc.Err()
}

// scanSSELines splits on CRLF, LF or a lone CR.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // need one more byte to tell CR from CRLF
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// subscribe opens GET path as an event stream with the bearer token,
// resuming after lastID when set. The caller closes the body.
func (c *Client) subscribe(ctx context.Context, path, lastID string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return resp.Body, nil
}
