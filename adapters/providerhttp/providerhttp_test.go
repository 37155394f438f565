package providerhttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestClassify(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "7")
	tests := []struct {
		status     int
		h          http.Header
		nilErr     bool
		permanent  bool
		retryAfter time.Duration
	}{
		{200, nil, true, false, 0},
		{204, nil, true, false, 0},
		{400, nil, false, true, 0},
		{403, nil, false, true, 0},
		{408, nil, false, false, 0},
		{429, h, false, false, 7 * time.Second},
		{500, nil, false, false, 0},
		{503, h, false, false, 0},
	}
	for _, tt := range tests {
		err := Classify(tt.status, tt.h, "why")
		if (err == nil) != tt.nilErr {
			t.Fatalf("%d: err = %v", tt.status, err)
		}
		if err == nil {
			continue
		}
		var se *inbox.SendError
		isSE := errors.As(err, &se)
		if got := isSE && se.Permanent; got != tt.permanent {
			t.Errorf("%d: permanent = %v, want %v", tt.status, got, tt.permanent)
		}
		var ra time.Duration
		if isSE {
			ra = se.RetryAfter
		}
		if ra != tt.retryAfter {
			t.Errorf("%d: retry after = %v, want %v", tt.status, ra, tt.retryAfter)
		}
	}
}

func TestCallRedactsToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL + "/bot123:SECRET/sendMessage?x=1"
	srv.Close()
	_, _, _, err := Call(context.Background(), nil, "POST", url, nil, map[string]string{"a": "b"})
	if err == nil {
		t.Fatal("want a transport error")
	}
	if s := err.Error(); contains(s, "SECRET") || !contains(s, "bot<redacted>") {
		t.Fatalf("error leaks or lacks redaction: %s", s)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Regression: a callback_url's user:password@ was kept in the error that
// became a failed reply's error and the "reply will be retried" log line.
func TestCallRedactsUserinfoAndQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := strings.Replace(srv.URL, "http://", "http://cb-user:cb-PASSWORD@", 1) + "/cb?key=QUERY-SECRET#FRAG"
	srv.Close()
	_, _, _, err := Call(context.Background(), nil, "POST", url, nil, nil)
	if err == nil {
		t.Fatal("want a transport error")
	}
	for _, s := range []string{"cb-user", "cb-PASSWORD", "QUERY-SECRET", "FRAG"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error names %q: %s", s, err)
		}
	}
	if !strings.Contains(err.Error(), "redacted@127.0.0.1") {
		t.Errorf("the error does not say where: %s", err)
	}
	// A URL net/http cannot even parse is quoted by its parse error.
	_, _, _, err = Call(context.Background(), nil, "POST", "http://u:PASS%zz@x/bot1:TOK/m?k=Q", nil, nil)
	if err == nil || strings.Contains(err.Error(), "PASS") || strings.Contains(err.Error(), "TOK") || strings.Contains(err.Error(), "Q") {
		t.Errorf("parse error: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com/v1/send":                       "https://api.example.com/v1/send",
		"https://user:pa55@crm.example.com/cb?key=s3cret":       "https://redacted@crm.example.com/cb",
		"https://user@crm.example.com":                          "https://redacted@crm.example.com",
		"http://a:b@c@host:8080/p#frag":                         "http://redacted@host:8080/p",
		"https://api.telegram.org/bot123:AAsecret/getMe":        "https://api.telegram.org/bot<redacted>/getMe",
		"https://api.telegram.org/file/bot123%3AAAsecret/x.jpg": "https://api.telegram.org/file/bot<redacted>/x.jpg",
		"https://example.com/bots/robot":                        "https://example.com/bots/robot",
		"//u:p@host/x?y":                                        "//redacted@host/x",
		"http://u:p%zz@bad host/x?q=1":                          "http://redacted@bad host/x",
		"postgres://app:pw@db:5432/inboxd?password=x":           "postgres://redacted@db:5432/inboxd",
		"not a url at all?secret":                               "not a url at all",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
