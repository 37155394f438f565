package meta

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

func outbound(text string, lastInbound time.Time) inbox.Outbound {
	return inbox.Outbound{
		MessageID: 7, ChannelID: "fb", Attempt: 1, Text: text,
		Contact:     inbox.Contact{ExternalID: "6543210987654321"},
		LastInbound: &inbox.Message{CreatedAt: lastInbound},
	}
}

func decodeSend(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("send body %s: %v", b, err)
	}
	return m
}

func TestSendRequest(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	res, err := env.ch.Send(t.Context(), outbound("Thanks, we are on it", env.now.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	calls := env.graph.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.Method != http.MethodPost || c.Path != "/1234/messages" || c.Auth != "Bearer "+testToken || strings.Contains(c.Query, testToken) {
		t.Errorf("call %s %s?%s auth %q", c.Method, c.Path, c.Query, c.Auth)
	}
	m := decodeSend(t, c.Body)
	if m["messaging_type"] != "RESPONSE" || m["tag"] != nil {
		t.Errorf("messaging_type %v tag %v", m["messaging_type"], m["tag"])
	}
	if r, _ := m["recipient"].(map[string]any); r["id"] != "6543210987654321" {
		t.Errorf("recipient %v", m["recipient"])
	}
	if msg, _ := m["message"].(map[string]any); msg["text"] != "Thanks, we are on it" {
		t.Errorf("message %v", m["message"])
	}
	if !strings.HasPrefix(res.ProviderID, "m_sent_") {
		t.Errorf("provider id %q", res.ProviderID)
	}
}

func TestSendHumanAgentTag(t *testing.T) {
	for _, tt := range []struct {
		extra   string
		age     time.Duration
		wantTyp string
		wantTag any
	}{
		{"human_agent_tag: true\n", 2 * time.Hour, "RESPONSE", nil},
		{"human_agent_tag: true\n", 3 * 24 * time.Hour, "MESSAGE_TAG", "HUMAN_AGENT"},
		{"", 3 * 24 * time.Hour, "RESPONSE", nil},
	} {
		env := newTestChannel(t, Messenger, tt.extra)
		if _, err := env.ch.Send(t.Context(), outbound("hi", env.now.Add(-tt.age))); err != nil {
			t.Fatal(err)
		}
		m := decodeSend(t, env.graph.recorded()[0].Body)
		if m["messaging_type"] != tt.wantTyp || m["tag"] != tt.wantTag {
			t.Errorf("%q age %s: type %v tag %v", tt.extra, tt.age, m["messaging_type"], m["tag"])
		}
	}
}

func TestSendSplitsLongText(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	text := strings.Repeat("word ", 500) // 2500 characters
	res, err := env.ch.Send(t.Context(), outbound(text, env.now))
	if err != nil {
		t.Fatal(err)
	}
	calls := env.graph.recorded()
	if len(calls) != 2 || len(strings.Split(res.ProviderID, ",")) != 2 {
		t.Fatalf("%d calls, provider id %q", len(calls), res.ProviderID)
	}
	var joined string
	for _, c := range calls {
		part := decodeSend(t, c.Body)["message"].(map[string]any)["text"].(string)
		if len(part) > maxTextUnits {
			t.Errorf("part of %d characters", len(part))
		}
		joined += part
	}
	if joined != text {
		t.Error("parts do not add up to the text")
	}
}

func TestSplitText(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want []string
	}{
		{"", 5, []string{""}},
		{"short", 5, []string{"short"}},
		{"hello world", 6, []string{"hello ", "world"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"😀😀😀", 4, []string{"😀😀", "😀"}}, // two UTF-16 units each
	} {
		got := SplitText(tt.in, tt.max)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestSendProviderErrors(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(w http.ResponseWriter)
		permanent bool
		retry     time.Duration
		reason    string
	}{
		{"window closed", func(w http.ResponseWriter) {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"A1"}}`)
		}, true, 0, "(#10) This message is sent outside of allowed window. (code 10, subcode 2018278)"},
		{"blocked user", func(w http.ResponseWriter) {
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"message":"(#200) This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"A2"}}`)
		}, true, 0, "This person isn't available right now."},
		{"rate limited with 400", func(w http.ResponseWriter) {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"A3"}}`)
		}, false, 0, "exceeded the rate limit"},
		{"429 retry after", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"Too many","code":80006}}`)
		}, false, 30 * time.Second, "Too many"},
		{"server error", func(w http.ResponseWriter) {
			w.WriteHeader(500)
			io.WriteString(w, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"A4"}}`)
		}, false, 0, "unexpected error"},
		{"html 502", func(w http.ResponseWriter) {
			w.WriteHeader(502)
			io.WriteString(w, `<html>bad gateway</html>`)
		}, false, 0, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestChannel(t, Messenger, "")
			env.graph.send = func(w http.ResponseWriter, _ *http.Request, _ []byte) { tt.answer(w) }
			_, err := env.ch.Send(t.Context(), outbound("hi", env.now))
			if err == nil {
				t.Fatal("no error")
			}
			var se *inbox.SendError
			isSE := errors.As(err, &se)
			if perm := isSE && se.Permanent; perm != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", perm, tt.permanent, err)
			}
			if tt.retry > 0 && (!isSE || se.RetryAfter != tt.retry) {
				t.Errorf("retry after: %v", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q lacks the reason %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestSendTimeoutIsTemporary(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	env.ch.callTimeout = 50 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	env.graph.send = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	_, err := env.ch.Send(t.Context(), outbound("hi", env.now))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Fatalf("timeout: %v, want a temporary error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestCheckReply(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		extra string
		last  time.Time
		ok    bool
	}{
		{"", now.Add(-23 * time.Hour), true},
		{"", now.Add(-24 * time.Hour), true},
		{"", now.Add(-25 * time.Hour), false},
		{"", time.Time{}, false},
		{"human_agent_tag: true\n", now.Add(-6 * 24 * time.Hour), true},
		{"human_agent_tag: true\n", now.Add(-8 * 24 * time.Hour), false},
	} {
		env := newTestChannel(t, Messenger, tt.extra)
		err := env.ch.CheckReply(t.Context(), &inbox.Conversation{LastInboundAt: tt.last}, now)
		if (err == nil) != tt.ok {
			t.Errorf("%q last %v: %v", tt.extra, tt.last, err)
		}
		if err != nil && (inbox.ErrorCode(err) != inbox.EConflict || !strings.Contains(inbox.ErrorMessage(err), "Messenger allows replies only")) {
			t.Errorf("refusal %v", err)
		}
	}
}

func TestFetchAttachment(t *testing.T) {
	env := newTestChannel(t, Messenger, "allow_private_fetch: true\n") // the CDN is on 127.0.0.1
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the page token was sent to the CDN")
		}
		if r.URL.Path != "/v/photo.jpg" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "JPEGDATA")
	}))
	defer cdn.Close()
	rc, ct, err := env.ch.FetchAttachment(t.Context(), cdn.URL+"/v/photo.jpg?oh=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "JPEGDATA" || ct != "image/jpeg" {
		t.Errorf("fetched %q (%s)", b, ct)
	}
	if _, _, err := env.ch.FetchAttachment(t.Context(), cdn.URL+"/expired.jpg"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("expired link: %v", err)
	}
	if _, _, err := env.ch.FetchAttachment(t.Context(), "file:///etc/passwd"); err == nil {
		t.Error("fetched a non-http ref")
	}
}

func TestConfig(t *testing.T) {
	full := map[string]string{"page_id": "1", "page_access_token": "t", "app_secret": "s", "verify_token": "v"}
	for _, missing := range []string{"page_id", "page_access_token", "app_secret", "verify_token"} {
		var doc strings.Builder
		for k, v := range full {
			if k != missing {
				doc.WriteString(k + ": " + v + "\n")
			}
		}
		_, err := NewMessenger(yamlConfig("messenger", doc.String()), adapters.Deps{Ingest: inboxtest.NewIngester()})
		if err == nil || err.Error() != missing+": is required" {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	ch, err := NewInstagram(yamlConfig("instagram", "page_id: '1'\npage_access_token: t\napp_secret: s\nverify_token: v\n"), adapters.Deps{Ingest: inboxtest.NewIngester()})
	if err != nil {
		t.Fatal(err)
	}
	if c := ch.(*Channel); c.cfg.APIBaseURL != DefaultAPIBaseURL || c.Kind() != "instagram" || c.ID() != "fb" || c.cfg.HumanAgentTag {
		t.Errorf("defaults: %+v kind %s", c.cfg, c.Kind())
	}
	for _, bad := range []string{"api_base_url: ftp://x\n", "api_base_url: '::'\n", "token: x\n"} {
		if _, err := NewMessenger(yamlConfig("messenger", "page_id: '1'\npage_access_token: t\napp_secret: s\nverify_token: v\n"+bad), adapters.Deps{Ingest: inboxtest.NewIngester()}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// Regression: fetch failures carried no inbox code, so the attachments
// API answered 500 for an expired lookaside link.
// TestFetchAttachmentCapped: a CDN that sends more than the attachment
// limit makes the download fail as too large instead of streaming on.
func TestFetchAttachmentCapped(t *testing.T) {
	env := newTestChannel(t, Messenger, "allow_private_fetch: true\n")
	chunk := make([]byte, 1<<20)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for sent := int64(0); sent <= inbox.MaxAttachmentBytes; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer cdn.Close()
	rc, _, err := env.ch.FetchAttachment(t.Context(), cdn.URL+"/v/huge.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if inbox.ErrorCode(err) != inbox.ETooLarge || n > inbox.MaxAttachmentBytes {
		t.Errorf("read %d bytes, err %v; want too_large at %d", n, err, inbox.MaxAttachmentBytes)
	}
}

func TestFetchAttachmentErrorCodes(t *testing.T) {
	env := newTestChannel(t, Messenger, "allow_private_fetch: true\n")
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/expired.jpg":
			http.Error(w, "URL signature expired", http.StatusForbidden)
		default:
			http.Error(w, "oops", http.StatusBadGateway)
		}
	}))
	defer cdn.Close()
	for ref, want := range map[string]string{
		cdn.URL + "/expired.jpg": inbox.ENotFound,
		cdn.URL + "/flaky.jpg":   inbox.EUnavailable,
		"file:///etc/passwd":     inbox.ENotFound,
		"http://127.0.0.1:1/x":   inbox.EUnavailable, // nothing listens there
	} {
		if _, _, err := env.ch.FetchAttachment(t.Context(), ref); inbox.ErrorCode(err) != want {
			t.Errorf("%q: %v (code %q), want %s", ref, err, inbox.ErrorCode(err), want)
		}
	}
}

// Regression (SSRF): a signed payload named an internal URL, and the
// attachment download fetched it and handed its body to the admin. By
// default only https URLs at public addresses are fetched.
func TestFetchAttachmentRefusesInternalURLs(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	var hits atomic.Int32
	internal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "INTERNAL-SECRET")
	})
	plain := httptest.NewServer(internal)
	defer plain.Close()
	tls := httptest.NewTLSServer(internal)
	defer tls.Close()
	body := []byte(`{"object":"page","entry":[{"id":"1234","time":1700000200000,"messaging":[{"sender":{"id":"3333"},` +
		`"recipient":{"id":"1234"},"timestamp":1700000200000,"message":{"mid":"m_ssrf","attachments":[` +
		`{"type":"file","payload":{"url":"` + plain.URL + `/admin/secret.txt"}},` +
		`{"type":"image","payload":{"url":"` + tls.URL + `/admin/secret.png"}},` +
		`{"type":"image","payload":{"url":"https://169.254.169.254/latest/meta-data/x.png"}}]}}]}]}`)
	if w := env.post(body, testSecret); w.Code != http.StatusOK {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	if len(env.ing.Messages) != 1 || len(env.ing.Messages[0].Attachments) != 3 {
		t.Fatalf("stored %+v", env.ing.Messages)
	}
	for _, a := range env.ing.Messages[0].Attachments {
		rc, _, err := env.ch.FetchAttachment(t.Context(), a.ProviderRef)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("%s: fetched %q", a.ProviderRef, b)
		}
		if inbox.ErrorCode(err) != inbox.EForbidden || strings.Contains(err.Error(), "INTERNAL-SECRET") {
			t.Errorf("%s: %v (code %s), want forbidden", a.ProviderRef, err, inbox.ErrorCode(err))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the internal server was reached %d times", n)
	}
}
