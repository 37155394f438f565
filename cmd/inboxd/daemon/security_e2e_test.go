package daemon_test

// Security properties of the running daemon: no secret reaches its log,
// every kind of response carries the security headers, and an uploaded
// HTML file can never run as a page of inboxd's origin.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// syncBuffer is a log sink the test reads while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The secrets of the full run; none may appear in the log.
const (
	secOwnerPassword = "Owner-Pa55word-never-logged"
	secWebhook       = "webhook-secret-never-logged-0123"
	secTelegram      = "918273645:AAtelegram-token-never-logged"
	secTGHookSecret  = "tg-hook-secret-never-logged"
	secWAToken       = "wa-access-token-never-logged"
	secWAAppSecret   = "wa-app-secret-never-logged"
	secWAVerify      = "wa-verify-token-never-logged"
	secIMAPPassword  = "imap-password-never-logged"
	secSMTPPassword  = "smtp-password-never-logged"
	secCallbackKey   = "callback-key-never-logged"
	secCallbackUser  = "callback-user-never-logged"
	secCallbackPass  = "callback-password-never-logged"
	secCallbackQuery = "callback-query-never-logged"
	secWrongPassword = "Typo-of-a-real-password-never-logged"
	secNewPassword   = "New-Pa55word-never-logged-1"
)

// fakeProvider is every provider API at once, failing often enough that
// every error path writes its log line: Telegram (getUpdates with one
// update, sendMessage failing twice), WhatsApp (failing), the webhook
// callback (failing once).
type fakeProvider struct {
	*httptest.Server
	tgPolls  atomic.Int32
	tgSends  atomic.Int32
	callback atomic.Int32
}

func newFakeProvider(t *testing.T) *fakeProvider {
	f := &fakeProvider{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		p := r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(p, "/getMe"):
			fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Bot","username":"bot"}}`)
		case strings.HasSuffix(p, "/getUpdates"):
			switch f.tgPolls.Add(1) {
			case 1:
				fmt.Fprint(w, `{"ok":true,"result":[{"update_id":1,"message":{"message_id":1,"date":1700000000,`+
					`"chat":{"id":77,"type":"private"},"from":{"id":77,"is_bot":false,"first_name":"Tanya"},"text":"hi from telegram"}}]}`)
			case 2, 3:
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
			default:
				time.Sleep(100 * time.Millisecond)
				fmt.Fprint(w, `{"ok":true,"result":[]}`)
			}
		case strings.HasSuffix(p, "/sendMessage"):
			if f.tgSends.Add(1) <= 2 {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
				return
			}
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":99,"date":1700000000,"chat":{"id":77,"type":"private"}}}`)
		case strings.HasPrefix(p, "/cb"):
			if f.callback.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, `{"id":"cb-1"}`)
		case strings.HasSuffix(p, "/deleteWebhook"), strings.HasSuffix(p, "/setWebhook"):
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"down"}}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// TestEndToEndSecretsNeverLogged runs logins (good and bad), password and
// token changes, webhooks with good and bad signatures, provider calls
// that fail and succeed, and replies through a callback, with the log at
// debug level, and looks for every secret it used in the log.
func TestEndToEndSecretsNeverLogged(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			fp := newFakeProvider(t)
			logs := &syncBuffer{}
			yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
public_url: http://127.0.0.1:1
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: %q}
outbox: {base_delay: 50ms, max_delay: 100ms, max_attempts: 10}
log: {level: debug}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %q, callback_url: "%s/cb?key=%s"}
  - {id: crm2, kind: webhook, queue: support, secret: %q, callback_url: "http://%s:%s@127.0.0.1:1/cb?token=%s"}
  - {id: tg, kind: telegram, queue: support, token: %q, mode: polling, poll_timeout: 1, api_base_url: %q}
  - {id: tgh, kind: telegram, queue: support, token: "%s9", mode: webhook, secret: %q, api_base_url: %q}
  - {id: wa, kind: whatsapp, queue: support, phone_number_id: "1065", access_token: %q, app_secret: %q, verify_token: %q, api_base_url: %q}
  - {id: mail, kind: email, queue: support, address: support@example.com,
     imap: {host: 127.0.0.1, port: 1, tls: none, username: support, password: %q},
     smtp: {host: 127.0.0.1, port: 1, tls: none, username: support, password: %q}}
  - {id: site, kind: widget, queue: support}
`, storetest.URL(t, d), secOwnerPassword, secWebhook, fp.URL, secCallbackKey,
				secWebhook, secCallbackUser, secCallbackPass, secCallbackQuery, secTelegram, fp.URL,
				secTelegram, secTGHookSecret, fp.URL, secWAToken, secWAAppSecret, secWAVerify, fp.URL, secIMAPPassword, secSMTPPassword)
			cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			dm, err := daemon.Start(context.Background(), cfg, daemon.Options{
				Logger: daemon.NewLogger(cfg, logs), Notice: logs, BcryptCost: bcrypt.MinCost, OutboxPoll: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(dm.Stop)
			e := &env{t: t, d: dm, base: "http://" + dm.Addr}
			var secrets = map[string]string{
				"owner password": secOwnerPassword, "webhook secret": secWebhook, "telegram token": secTelegram,
				"telegram token's secret part": strings.SplitN(secTelegram, ":", 2)[1], "telegram hook secret": secTGHookSecret,
				"whatsapp token": secWAToken, "whatsapp app secret": secWAAppSecret, "whatsapp verify token": secWAVerify,
				"imap password": secIMAPPassword, "smtp password": secSMTPPassword, "callback key": secCallbackKey,
				"callback user": secCallbackUser, "callback password": secCallbackPass, "callback query": secCallbackQuery,
				"a wrong password": secWrongPassword, "a new password": secNewPassword,
			}

			// Logins: failures (wrong password, unknown account), then the owner.
			for _, email := range []string{"owner@example.com", "nobody@example.com"} {
				if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": secWrongPassword}, nil); st != 401 {
					t.Fatalf("wrong login: %d", st)
				}
			}
			var login struct{ Token string }
			if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "owner@example.com", "password": secOwnerPassword}, &login); st != 200 {
				t.Fatalf("login: %d", st)
			}
			e.owner = login.Token
			secrets["session token"] = login.Token
			var tok struct{ Token string }
			if st := e.call("POST", "/api/v1/me/tokens", e.owner, map[string]string{"name": "ci"}, &tok); st != 201 || tok.Token == "" {
				t.Fatalf("api token: %d", st)
			}
			secrets["api token"] = tok.Token
			if st := e.call("GET", "/api/v1/me", tok.Token, nil, nil); st != 200 {
				t.Fatalf("api token use: %d", st)
			}
			if st := e.call("GET", "/api/v1/me", tok.Token+"x", nil, nil); st != 401 {
				t.Fatalf("forged token: %d", st)
			}
			if st := e.call("PUT", "/api/v1/me/password", e.owner, map[string]string{"current_password": secWrongPassword, "new_password": secNewPassword}, nil); st != 400 {
				t.Fatalf("password change with a wrong current one: %d", st)
			}
			if st := e.call("PUT", "/api/v1/me/password", e.owner, map[string]string{"current_password": secOwnerPassword, "new_password": secNewPassword}, nil); st/100 != 2 {
				t.Fatalf("password change: %d", st)
			}
			var visitor struct{ Token string }
			if st := e.call("POST", "/widget/v1/site/visitors", "", map[string]string{}, &visitor); st != 201 {
				t.Fatalf("visitor: %d", st)
			}
			secrets["visitor token"] = visitor.Token
			var werr any
			if st := e.call("POST", "/widget/v1/site/messages", visitor.Token, map[string]string{"text": "hello", "client_id": "sec-client-1"}, &werr); st/100 != 2 {
				t.Fatalf("widget message: %d %v", st, werr)
			}

			// Webhooks: good, wrong and missing signatures.
			body := []byte(`{"message_id":"s1","contact":{"id":"c1","name":"Sec"},"text":"hello"}`)
			for i, sig := range []string{"sha256=" + hooksig.Sign([]byte(secWebhook), body), "sha256=" + hooksig.Sign([]byte("not-the-secret-0000"), body), "",
				"sha256=" + hooksig.Sign([]byte(secWebhook), body)} {
				path := "/hooks/webhook/crm"
				if i == 3 {
					path = "/hooks/webhook/crm2" // its callback cannot be reached
				}
				req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Inboxd-Signature", sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			for _, path := range []string{
				"/hooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=" + secWAVerify + "&hub.challenge=42",
				"/hooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42",
			} {
				resp, err := http.Get(e.base + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			for _, hdr := range []string{secTGHookSecret, "wrong-secret"} {
				req, _ := http.NewRequest("POST", e.base+"/hooks/telegram/tgh", strings.NewReader(`{"update_id":5}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hdr)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			req, _ := http.NewRequest("POST", e.base+"/hooks/whatsapp/wa", strings.NewReader(`{"object":"whatsapp_business_account","entry":[]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hooksig.Sign([]byte("wrong"), []byte("x")))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}

			// Replies through the callback (fails once), Telegram (fails
			// twice) and a callback that cannot be reached, whose URL holds
			// user:password@ and a secret query.
			var p page
			waitFor(t, "the telegram and webhook conversations", func() bool {
				e.call("GET", "/api/v1/journal", e.owner, nil, &p)
				return len(p.Items) >= 4
			})
			var crm2 int64
			for _, it := range p.Items {
				if it.Channel.ID == "crm2" {
					crm2 = it.ID
				}
				if it.Channel.ID == "crm" || it.Channel.ID == "tg" || it.Channel.ID == "crm2" {
					if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", it.ID), e.owner, map[string]string{"text": "reply"}, nil); st != 201 {
						t.Fatalf("reply on %s: %d", it.Channel.ID, st)
					}
				}
			}
			waitFor(t, "the replies are delivered", func() bool { return fp.tgSends.Load() >= 3 && fp.callback.Load() >= 2 })
			// The unreachable callback's reply shows agents why it waits,
			// without the URL's secrets.
			var replyErr string
			waitFor(t, "the unreachable callback's error", func() bool {
				var ms struct{ Items []msgView }
				e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", crm2), e.owner, nil, &ms)
				for _, m := range ms.Items {
					if m.Direction == "out" && m.Error != "" {
						replyErr = m.Error
					}
				}
				return replyErr != ""
			})
			if !strings.Contains(replyErr, "127.0.0.1:1") {
				t.Errorf("the reply's error does not say where it failed: %q", replyErr)
			}
			for _, s := range []string{secCallbackUser, secCallbackPass, secCallbackQuery} {
				if strings.Contains(replyErr, s) {
					t.Errorf("the reply's error shows %q to agents: %q", s, replyErr)
				}
			}
			time.Sleep(300 * time.Millisecond) // the email poller has tried its closed port

			out := logs.String()
			if !strings.Contains(out, "login failed") || !strings.Contains(out, "reply will be retried") {
				t.Fatalf("the log lacks the lines this test provokes:\n%s", tail(out, 3000))
			}
			for what, s := range secrets {
				if s == "" {
					t.Fatalf("%s is empty", what)
				}
				if i := strings.Index(out, s); i >= 0 {
					line := out[strings.LastIndex(out[:i], "\n")+1:]
					if j := strings.IndexByte(line, '\n'); j >= 0 {
						line = line[:j]
					}
					t.Errorf("the %s appears in the log: %s", what, line)
				}
			}
			t.Logf("%d log lines checked for %d secrets", strings.Count(out, "\n"), len(secrets))
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestEndToEndSecurityHeaders checks the headers on every kind of
// response: API JSON, errors (401, 404, 405), the live feed, attachments,
// webhooks, health, the console and the widget's files.
func TestEndToEndSecurityHeaders(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		r := e.send("crm", "h1", "c1", "hello")
		res, err := e.d.Service.Ingest(context.Background(), inbox.Inbound{
			ChannelID: "crm", ExternalID: "html-upload", Text: "see the file",
			Contact: inbox.ContactInfo{ExternalID: "c2", Name: "Uploader"},
			Attachments: []inbox.Attachment{
				{Name: "invoice.html", MIMEType: "image/png", Data: []byte(hostileHTML)},
				{Name: `x".svg`, MIMEType: "image/svg+xml", Data: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
				{Name: "photo.png", MIMEType: "text/html", Data: pngHeader},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		var ms struct {
			Items []struct {
				Attachments []struct {
					ID  int64
					URL string
				}
			}
		}
		e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", res.ConversationID), e.owner, nil, &ms)
		if len(ms.Items) != 1 || len(ms.Items[0].Attachments) != 3 {
			t.Fatalf("attachments: %+v", ms)
		}
		atts := ms.Items[0].Attachments
		signed := []byte(`{"message_id":"h2","contact":{"id":"c1"},"text":"hi"}`)
		type probe struct {
			name, method, path, token string
			body                      []byte
			sig                       bool
			status                    int
		}
		probes := []probe{
			{"API JSON", "GET", "/api/v1/me", e.owner, nil, false, 200},
			{"API list", "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.owner, nil, false, 200},
			{"401", "GET", "/api/v1/me", "", nil, false, 401},
			{"403", "GET", "/api/v1/journal", e.anna, nil, false, 403},
			{"404 route", "GET", "/api/v1/nothing-here", e.owner, nil, false, 404},
			{"405", "DELETE", "/healthz", "", nil, false, 405},
			{"SSE", "GET", "/api/v1/journal/events", e.owner, nil, false, 200},
			{"attachment (HTML)", "GET", atts[0].URL, e.owner, nil, false, 200},
			{"attachment (SVG)", "GET", atts[1].URL, e.owner, nil, false, 200},
			{"attachment (PNG)", "GET", atts[2].URL, e.owner, nil, false, 200},
			{"hook accepted", "POST", "/hooks/webhook/crm", "", signed, true, 202},
			{"hook refused", "POST", "/hooks/webhook/crm", "", signed, false, 401},
			{"health", "GET", "/healthz", "", nil, false, 200},
			{"metrics", "GET", "/metrics", "", nil, false, 200},
			{"console page", "GET", "/login", "", nil, false, 200},
			{"console script", "GET", "/console/common.js", "", nil, false, 200},
			{"widget script", "GET", "/widget.js", "", nil, false, 200},
		}
		for _, p := range probes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req, _ := http.NewRequestWithContext(ctx, p.method, e.base+p.path, bytes.NewReader(p.body))
			if p.token != "" {
				req.Header.Set("Authorization", "Bearer "+p.token)
			}
			if p.body != nil {
				req.Header.Set("Content-Type", "application/json")
				if p.sig {
					req.Header.Set("X-Inboxd-Signature", "sha256="+hooksig.Sign([]byte(secret), p.body))
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", p.name, err)
			}
			h := resp.Header
			var head []byte
			if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
				head, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			} else {
				bufio.NewReader(resp.Body).Peek(1)
			}
			resp.Body.Close()
			cancel()
			if resp.StatusCode != p.status {
				t.Errorf("%s: status %d, want %d", p.name, resp.StatusCode, p.status)
			}
			csp := h.Get("Content-Security-Policy")
			if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(csp, "frame-ancestors 'none'") && !strings.Contains(csp, "sandbox") ||
				h.Get("Referrer-Policy") == "" {
				t.Errorf("%s: nosniff %q, CSP %q, Referrer-Policy %q", p.name, h.Get("X-Content-Type-Options"), csp, h.Get("Referrer-Policy"))
			}
			if !strings.Contains(csp, "frame-ancestors") && !strings.Contains(csp, "sandbox") {
				t.Errorf("%s: the CSP %q does not stop framing", p.name, csp)
			}
			if strings.HasPrefix(p.name, "attachment") {
				checkAttachment(t, p.name, h, head)
			}
		}
	})
}

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// checkAttachment: a file is served with a type sniffed from its bytes
// (not the sender's claim), never as a type a browser runs as a page,
// under a sandbox CSP, and as a download unless it is an image.
func checkAttachment(t *testing.T, name string, h http.Header, body []byte) {
	t.Helper()
	ct := strings.ToLower(h.Get("Content-Type"))
	csp := h.Get("Content-Security-Policy")
	disp := h.Get("Content-Disposition")
	if !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: CSP %q, want a sandbox with default-src 'none'", name, csp)
	}
	for _, bad := range []string{"html", "xml", "svg", "javascript"} {
		if strings.Contains(ct, bad) {
			t.Errorf("%s: served as %q, a type a browser may run", name, ct)
		}
	}
	switch name {
	case "attachment (PNG)":
		if !strings.HasPrefix(ct, "image/png") || !strings.HasPrefix(disp, "inline") {
			t.Errorf("%s: %q %q, want image/png inline (sniffed, not the claimed text/html)", name, ct, disp)
		}
	default:
		if !strings.HasPrefix(disp, "attachment") {
			t.Errorf("%s: Content-Disposition %q, want attachment", name, disp)
		}
		if strings.HasPrefix(ct, "image/") {
			t.Errorf("%s: served as %q, the sender's claim", name, ct)
		}
	}
	if strings.Count(disp, `"`) != 2 {
		t.Errorf("%s: Content-Disposition %q: the name's quote is not neutralized", name, disp)
	}
	if len(body) == 0 {
		t.Errorf("%s: empty body", name)
	}
}
