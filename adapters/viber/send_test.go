package viber

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// fakeViber is an httptest stand-in for the REST bot API. answer returns
// the HTTP status and body for each request, in order.
type fakeViber struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	answer func(n int, path string, body map[string]any) (int, string)
}

type recorded struct {
	path, token, contentType string
	body                     map[string]any
	raw                      string
}

func newFakeViber(t *testing.T, answer func(n int, path string, body map[string]any) (int, string)) *fakeViber {
	f := &fakeViber{t: t, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body is not JSON: %q", raw)
		}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, recorded{r.URL.Path, r.Header.Get("X-Viber-Auth-Token"), r.Header.Get("Content-Type"), body, string(raw)})
		f.mu.Unlock()
		if r.Method != http.MethodPost {
			t.Errorf("method = %s", r.Method)
		}
		code, out := f.answer(n, r.URL.Path, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeViber) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func outbound(text string) inbox.Outbound {
	return inbox.Outbound{
		MessageID: 77, ChannelID: "vb", Text: text, Attempt: 1,
		Contact: inbox.Contact{ExternalID: "01234567890A=", Name: "John McClane"},
	}
}

// Viber's documented answer; the token is above 2^53.
const okAnswer = `{"status":0,"status_message":"ok","message_token":5741311803571721087,"chat_hostname":"SN-CHAT-05_","billing_status":1}`

func TestSend(t *testing.T) {
	fake := newFakeViber(t, func(int, string, map[string]any) (int, string) { return 200, okAnswer })
	ch, _ := newTestChannel(t, fake.srv.URL)
	ch.cfg.SenderAvatar = "https://example.com/avatar.jpg"
	res, err := ch.Send(context.Background(), outbound("Hello, how can we help?"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "5741311803571721087" {
		t.Errorf("provider id = %q (float64 would give 5741311803571721216)", res.ProviderID)
	}
	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.path != "/pa/send_message" || r.token != testToken || !strings.HasPrefix(r.contentType, "application/json") {
		t.Errorf("request %s token=%q type=%q", r.path, r.token, r.contentType)
	}
	want := map[string]any{
		"receiver":        "01234567890A=",
		"min_api_version": float64(1),
		"sender":          map[string]any{"name": "Support", "avatar": "https://example.com/avatar.jpg"},
		"tracking_data":   "inboxd:77",
		"type":            "text",
		"text":            "Hello, how can we help?",
	}
	if !jsonEqual(r.body, want) {
		t.Errorf("body = %s", r.raw)
	}
	if strings.Contains(r.raw, testToken) {
		t.Error("the token is in the body")
	}
}

func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestSendNoAvatar(t *testing.T) {
	fake := newFakeViber(t, func(int, string, map[string]any) (int, string) { return 200, okAnswer })
	ch, _ := newTestChannel(t, fake.srv.URL)
	if _, err := ch.Send(context.Background(), outbound("hi")); err != nil {
		t.Fatal(err)
	}
	sender := fake.requests()[0].body["sender"].(map[string]any)
	if _, ok := sender["avatar"]; ok || sender["name"] != "Support" {
		t.Errorf("sender = %v", sender)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		header     http.Header
		permanent  bool
		retryAfter time.Duration
		reason     string
	}{
		{"receiver not subscribed", 200, `{"status":6,"status_message":"receiverNotSubscribed"}`, nil, true, 0, "receiverNotSubscribed"},
		{"receiver not registered", 200, `{"status":5,"status_message":"receiverNotRegistered"}`, nil, true, 0, "receiverNotRegistered"},
		{"bad data", 200, `{"status":3,"status_message":"badData"}`, nil, true, 0, "badData"},
		{"invalid token", 200, `{"status":2,"status_message":"invalidAuthToken"}`, nil, true, 0, "invalidAuthToken"},
		{"no suitable device", 200, `{"status":11,"status_message":"receiverNoSuitableDevice"}`, nil, true, 0, "receiverNoSuitableDevice"},
		{"too many requests", 200, `{"status":12,"status_message":"tooManyRequests"}`, nil, false, 0, "tooManyRequests"},
		{"undocumented status", 200, `{"status":99,"status_message":"General error"}`, nil, false, 0, "General error"},
		{"no status", 200, `{"status_message":"?"}`, nil, false, 0, "without a status"},
		{"not json", 200, `<html>proxy</html>`, nil, false, 0, "unreadable"},
		{"http 500", 500, `{"status":99,"status_message":"internal"}`, nil, false, 0, "internal"},
		{"http 502 page", 502, `<html>bad gateway</html>`, nil, false, 0, "bad gateway"},
		{"http 429", 429, `{}`, http.Header{"Retry-After": {"30"}}, false, 30 * time.Second, "429"},
		{"http 401", 401, `{"status":2,"status_message":"invalidAuthToken"}`, nil, true, 0, "invalidAuthToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			ch, _ := newTestChannel(t, srv.URL)
			_, err := ch.Send(context.Background(), outbound("hi"))
			if err == nil {
				t.Fatal("no error")
			}
			var se *inbox.SendError
			isSE := errors.As(err, &se)
			if got := isSE && se.Permanent; got != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			var ra time.Duration
			if isSE {
				ra = se.RetryAfter
			}
			if ra != tt.retryAfter {
				t.Errorf("retry after = %v, want %v", ra, tt.retryAfter)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not carry %q", err, tt.reason)
			}
		})
	}
}

func TestSendTimeoutIsTemporary(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ch, _ := newTestChannel(t, srv.URL)
	ch.timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := ch.Send(context.Background(), outbound("hi"))
	if err == nil {
		t.Fatal("no error")
	}
	var se *inbox.SendError
	if errors.As(err, &se) && se.Permanent {
		t.Fatalf("a timeout is permanent: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSendUnreachableIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	ch, _ := newTestChannel(t, url)
	_, err := ch.Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Error("token in the error")
	}
}

func TestSendRefusesUpFront(t *testing.T) {
	ch, _ := newTestChannel(t, "http://127.0.0.1:1")
	for name, out := range map[string]inbox.Outbound{
		"empty text": outbound("  "),
		"no contact": {MessageID: 1, Text: "hi"},
	} {
		_, err := ch.Send(context.Background(), out)
		var se *inbox.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
}

func TestSendLongTextInParts(t *testing.T) {
	fake := newFakeViber(t, func(n int, _ string, _ map[string]any) (int, string) {
		return 200, `{"status":0,"status_message":"ok","message_token":` + []string{"9007199254740993", "9007199254740995"}[n] + `}`
	})
	ch, _ := newTestChannel(t, fake.srv.URL)
	text := strings.Repeat("word ", 1500) + strings.Repeat("é", 100) // 7,600 characters
	res, err := ch.Send(context.Background(), outbound(text))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "9007199254740993,9007199254740995" {
		t.Errorf("provider id = %q", res.ProviderID)
	}
	var joined string
	for _, r := range fake.requests() {
		part := r.body["text"].(string)
		if n := utf16Len(part); n > MaxTextLength {
			t.Errorf("part of %d characters", n)
		}
		joined += part
	}
	if joined != text {
		t.Error("the parts do not make up the text")
	}
}

func TestSplitText(t *testing.T) {
	emoji := "😀" // two UTF-16 units
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"exact", "0123456789", 10, []string{"0123456789"}},
		{"at a space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb ", "cccc"}},
		{"at a newline", "aaa\nbbb ccc dd", 10, []string{"aaa\nbbb ", "ccc dd"}},
		{"no break", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"emoji count double", strings.Repeat(emoji, 4), 5, []string{emoji + emoji, emoji + emoji}},
		{"invalid utf-8 progresses", "\xff\xff\xff", 2, []string{"\xff\xff", "\xff"}},
		{"limit below a character", emoji + "a", 1, []string{emoji, "a"}},
	}
	for _, tt := range tests {
		got := splitText(tt.text, tt.limit)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		for _, p := range got {
			if utf8.ValidString(tt.text) && !utf8.ValidString(p) {
				t.Errorf("%s: part %q cuts a character", tt.name, p)
			}
		}
	}
}
