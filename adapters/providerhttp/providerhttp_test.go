package providerhttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
