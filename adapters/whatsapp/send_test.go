package whatsapp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

func outbound(text string) inbox.Outbound {
	return inbox.Outbound{MessageID: 9, ChannelID: "wa", Attempt: 1, Text: text, Contact: inbox.Contact{ExternalID: "16505551234"}}
}

func TestSendRequest(t *testing.T) {
	env := newTestChannel(t)
	res, err := env.ch.Send(t.Context(), outbound("We ship on Monday"))
	if err != nil {
		t.Fatal(err)
	}
	calls := env.cloud.recorded()
	if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].Path != "/"+testNumber+"/messages" || calls[0].Auth != "Bearer "+testToken {
		t.Fatalf("calls %+v", calls)
	}
	var got map[string]any
	if err := json.Unmarshal(calls[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	text, _ := got["text"].(map[string]any)
	if got["messaging_product"] != "whatsapp" || got["to"] != "16505551234" || got["type"] != "text" || text["body"] != "We ship on Monday" {
		t.Errorf("body %s", calls[0].Body)
	}
	if !strings.HasPrefix(res.ProviderID, "wamid.sent") {
		t.Errorf("provider id %q", res.ProviderID)
	}
}

func TestSendSplitsLongText(t *testing.T) {
	env := newTestChannel(t)
	text := strings.Repeat("line of text\n", 400) // 5200 characters
	res, err := env.ch.Send(t.Context(), outbound(text))
	if err != nil {
		t.Fatal(err)
	}
	if ids := strings.Split(res.ProviderID, ","); len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("provider ids %q", res.ProviderID)
	}
	var joined string
	for _, c := range env.cloud.recorded() {
		var req sendRequest
		json.Unmarshal(c.Body, &req)
		if len(req.Text.Body) > maxTextUnits {
			t.Errorf("part of %d bytes", len(req.Text.Body))
		}
		joined += req.Text.Body
	}
	if joined != text {
		t.Error("parts do not add up to the text")
	}
}

func TestSendProviderErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		reason    string
	}{
		{"window closed", 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"A1"}}`,
			true, "(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed"},
		{"bad recipient", 400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_data":{"messaging_product":"whatsapp","details":"Invalid WhatsApp ID"},"fbtrace_id":"A2"}}`,
			true, "Invalid WhatsApp ID"},
		{"throughput", 400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A3"}}`,
			false, "Rate limit hit"},
		{"server error", 500, `{"error":{"message":"(#131000) Something went wrong","code":131000,"fbtrace_id":"A4"}}`,
			false, "Something went wrong"},
		{"unavailable", 503, `Service Unavailable`, false, "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestChannel(t)
			env.cloud.send = func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}
			_, err := env.ch.Send(t.Context(), outbound("hi"))
			if err == nil {
				t.Fatal("no error")
			}
			var se *inbox.SendError
			if perm := errors.As(err, &se) && se.Permanent; perm != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", perm, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.reason) || strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q, want the reason %q and no token", err, tt.reason)
			}
		})
	}
}

func TestSendTimeoutIsTemporary(t *testing.T) {
	env := newTestChannel(t)
	env.ch.callTimeout = 50 * time.Millisecond
	env.cloud.send = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	_, err := env.ch.Send(t.Context(), outbound("hi"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Fatalf("timeout: %v, want a temporary error", err)
	}
}

func TestCheckReply(t *testing.T) {
	env := newTestChannel(t)
	now := env.now
	for last, ok := range map[time.Time]bool{
		now.Add(-time.Minute):        true,
		now.Add(-24 * time.Hour):     true,
		now.Add(-24*time.Hour - 1):   false,
		now.Add(-5 * 24 * time.Hour): false,
		{}:                           false,
	} {
		err := env.ch.CheckReply(t.Context(), &inbox.Conversation{LastInboundAt: last}, now)
		if (err == nil) != ok {
			t.Errorf("last inbound %v: %v", last, err)
		}
		if err != nil && (inbox.ErrorCode(err) != inbox.EConflict || !strings.Contains(inbox.ErrorMessage(err), "24 hours") && !last.IsZero()) {
			t.Errorf("refusal %v", err)
		}
	}
}

func TestFetchAttachment(t *testing.T) {
	env := newTestChannel(t)
	rc, ct, err := env.ch.FetchAttachment(t.Context(), "1003383421387256")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "JPEGBYTES" || ct != "image/jpeg" {
		t.Errorf("fetched %q (%s)", b, ct)
	}
	for _, c := range env.cloud.recorded() {
		if c.Auth != "Bearer "+testToken {
			t.Errorf("%s without the token", c.Path)
		}
	}
	if _, _, err := env.ch.FetchAttachment(t.Context(), "404404"); err == nil {
		t.Error("unknown media fetched")
	}
	if _, _, err := env.ch.FetchAttachment(t.Context(), "../me"); err == nil {
		t.Error("a path was accepted as a media id")
	}
}

func TestConfig(t *testing.T) {
	full := map[string]string{"phone_number_id": "1", "access_token": "t", "app_secret": "s", "verify_token": "v"}
	for missing := range full {
		var doc strings.Builder
		for k, v := range full {
			if k != missing {
				doc.WriteString(k + ": '" + v + "'\n")
			}
		}
		_, err := New(yamlConfig(doc.String()), adapters.Deps{Ingest: inboxtest.NewIngester()})
		if err == nil || err.Error() != missing+": is required" {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	ch, err := New(yamlConfig("phone_number_id: '1'\naccess_token: t\napp_secret: s\nverify_token: v\n"), adapters.Deps{Ingest: inboxtest.NewIngester()})
	if err != nil {
		t.Fatal(err)
	}
	if c := ch.(*Channel); c.cfg.APIBaseURL != DefaultAPIBaseURL || c.Kind() != Kind || c.ID() != "wa" {
		t.Errorf("defaults %+v", c.cfg)
	}
	for _, bad := range []string{"api_base_url: 'graph.facebook.com'\n", "page_id: x\n"} {
		if _, err := New(yamlConfig("phone_number_id: '1'\naccess_token: t\napp_secret: s\nverify_token: v\n"+bad), adapters.Deps{Ingest: inboxtest.NewIngester()}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// Regression: fetch failures carried no inbox code, so the attachments
// API answered 500 for media WhatsApp no longer has.
func TestFetchAttachmentErrorCodes(t *testing.T) {
	env := newTestChannel(t)
	for ref, want := range map[string]string{"404404": inbox.ENotFound, "../me": inbox.ENotFound, "": inbox.ENotFound} {
		if _, _, err := env.ch.FetchAttachment(t.Context(), ref); inbox.ErrorCode(err) != want {
			t.Errorf("%q: %v (code %q), want %s", ref, err, inbox.ErrorCode(err), want)
		}
	}
	env.ch.cfg.APIBaseURL = "http://127.0.0.1:1" // nothing listens there
	if _, _, err := env.ch.FetchAttachment(t.Context(), "1003383421387256"); inbox.ErrorCode(err) != inbox.EUnavailable {
		t.Errorf("unreachable: %v (code %q)", err, inbox.ErrorCode(err))
	}
}
