package tickets

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

const secret = "ticket-secret-0123456789"

func client(t *testing.T, h http.HandlerFunc, mod func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{CreateURL: srv.URL + "/tickets", Secret: secret, AllowPrivateFetch: true}
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func request() inbox.TicketRequest {
	return inbox.TicketRequest{Conversation: inbox.ConversationSummary{ID: 7, Number: 3, Title: "Maria"},
		Contact: &inbox.Contact{ExternalID: "cust-1", Name: "Maria"}, ConsoleURL: "https://inbox.example.com/conversations/7",
		Transcript:  []inbox.MessageView{{ID: 1, Direction: inbox.DirectionIn, Text: "hello", Attachments: []inbox.AttachmentView{}}},
		RequestedBy: inbox.Participant{ID: 2, Name: "Anna"}}
}

func TestCreateTicketSignedRequest(t *testing.T) {
	var got struct {
		sig, event, ctype string
		body              []byte
	}
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		got.sig, got.event, got.ctype = r.Header.Get(SignatureHeader), r.Header.Get(EventHeader), r.Header.Get("Content-Type")
		got.body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"url":"https://desk.example.com/t/42","id":42,"title":"Maria's order"}`)
	}, nil)
	ref, err := c.CreateTicket(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if ref != (inbox.TicketRef{URL: "https://desk.example.com/t/42", ID: "42", Title: "Maria's order"}) {
		t.Fatalf("ref %+v", ref)
	}
	if !hooksig.Verify([]byte(secret), got.body, got.sig, "sha256=") || hooksig.Verify([]byte("another-secret-0123"), got.body, got.sig, "sha256=") {
		t.Fatalf("signature %q does not verify the body", got.sig)
	}
	if got.event != Event || got.ctype != "application/json" {
		t.Fatalf("headers: %q %q", got.event, got.ctype)
	}
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"conversation", "contact", "transcript", "console_url", "requested_by", "transcript_truncated"} {
		if _, ok := body[k]; !ok {
			t.Errorf("request body lacks %q: %s", k, got.body)
		}
	}
}

func TestCreateTicketFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		mod  func(*Config)
		want string // the agent's message, prefix
	}{
		{"500 with a JSON reason", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, `{"error":"database is down"}`)
		}, nil, "the ticket system answered 500: database is down"},
		{"502 with HTML", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, `<html><body>Bad gateway</body></html>`)
		}, nil, "the ticket system answered 502"},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, nil, "the ticket system answered 401"},
		{"2xx without url", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id":"1"}`) }, nil,
			"the ticket system answered 200 without the ticket's url"},
		{"2xx not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `ok`) }, nil,
			"the ticket system answered 200 without a JSON object"},
		{"answer too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"url":"https://x.example/1","title":"`+strings.Repeat("a", MaxAnswer)+`"}`)
		}, nil, "the ticket system's answer is larger than"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client leave
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, func(c *Config) { c.Timeout = 200 * time.Millisecond }, "the ticket system could not be reached"},
		{"a private address without allow_private_fetch", func(w http.ResponseWriter, r *http.Request) {
			t.Error("the request reached a private address")
		}, func(c *Config) {
			c.AllowPrivateFetch = false
			c.CreateURL = strings.Replace(c.CreateURL, "http://", "https://", 1)
		}, "the ticket system's URL is refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, tc.h, tc.mod)
			_, err := c.CreateTicket(context.Background(), request())
			if inbox.ErrorCode(err) != inbox.EUpstream || !strings.HasPrefix(inbox.ErrorMessage(err), tc.want) {
				t.Fatalf("err = %v (message %q), want upstream %q", err, inbox.ErrorMessage(err), tc.want)
			}
			if strings.Contains(inbox.ErrorMessage(err), "127.0.0.1") || strings.Contains(inbox.ErrorMessage(err), secret) {
				t.Fatalf("the agent's message names the endpoint: %q", inbox.ErrorMessage(err))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // "" valid
	}{
		{Config{}, ""},
		{Config{CreateURL: "https://desk.example.com/api", Secret: secret}, ""},
		{Config{Secret: secret}, "create_url: is required"},
		{Config{CreateURL: "ftp://desk.example.com", Secret: secret}, "create_url: must be an http(s) URL"},
		{Config{CreateURL: "http://desk.example.com", Secret: secret}, "create_url: must be https"},
		{Config{CreateURL: "http://desk.internal", Secret: secret, AllowPrivateFetch: true}, ""},
		{Config{CreateURL: "https://u:p@desk.example.com", Secret: secret}, "create_url: must not carry a user"},
		{Config{CreateURL: "https://desk.example.com", Secret: "short"}, "secret: must be at least 16"},
		{Config{CreateURL: "https://desk.example.com", Secret: secret, Label: strings.Repeat("l", 41)}, "label: must be at most 40"},
		{Config{CreateURL: "https://desk.example.com", Secret: secret, Timeout: -time.Second}, "timeout:"},
	} {
		cfg := tc.cfg
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	cfg := Config{CreateURL: "https://desk.example.com", Secret: secret}
	if cfg.Validate(); cfg.Label != "Create ticket" || cfg.System != "tickets" || cfg.Timeout != DefaultTimeout {
		t.Fatalf("defaults: %+v", cfg)
	}
}
