package widget

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
)

// fakeHost stands in for the API: it decodes JSON plainly and records the
// feed a handler asks it to stream.
type fakeHost struct {
	feed   *adapters.Feed
	typing []int64
}

func (h *fakeHost) DecodeJSON(c echo.Context, into any) error {
	if err := json.NewDecoder(c.Request().Body).Decode(into); err != nil {
		return inbox.Invalid("body", "is not JSON")
	}
	return nil
}

func (h *fakeHost) Stream(c echo.Context, f adapters.Feed) error {
	h.feed = &f
	return c.NoContent(http.StatusOK)
}

func (h *fakeHost) PublishTyping(ctx context.Context, id int64, payload map[string]string) error {
	if payload["who"] != "visitor" {
		return inbox.Errorf(inbox.EInternal, "typing by %q", payload["who"])
	}
	h.typing = append(h.typing, id)
	return nil
}

// fakeVisitors keeps visitors in memory; a visitor's conversation exists
// once it has ingested a message.
type fakeVisitors struct {
	byHash map[string]string // token hash -> contact key
	convs  map[string]int64  // contact key -> conversation id
}

func (v *fakeVisitors) CreateVisitor(ctx context.Context, channelID, key string, verified bool, hash string, now time.Time) error {
	v.byHash[hash] = key
	return nil
}

func (v *fakeVisitors) VisitorByToken(ctx context.Context, channelID, hash string, now time.Time) (string, error) {
	return v.byHash[hash], nil
}

func (v *fakeVisitors) VisitorConversation(ctx context.Context, channelID, key string) (int64, int64, error) {
	id := v.convs[key]
	return id, id * 10, nil // the number a visitor sees differs from the id
}

// fakeIngest stores messages by external id.
type fakeIngest struct {
	inbox.Ingester
	v    *fakeVisitors
	msgs []inbox.Inbound
	ids  map[string]int64
}

func (f *fakeIngest) Ingest(ctx context.Context, in inbox.Inbound) (inbox.IngestResult, error) {
	if id, ok := f.ids[in.ExternalID]; ok {
		return inbox.IngestResult{MessageID: id, ConversationID: 7, Duplicate: true}, nil
	}
	f.msgs = append(f.msgs, in)
	id := int64(100 + len(f.msgs))
	f.ids[in.ExternalID] = id
	f.v.convs[in.Contact.ExternalID] = 7
	return inbox.IngestResult{MessageID: id, ConversationID: 7}, nil
}

func (f *fakeIngest) Messages(ctx context.Context, convID, after int64, limit int) ([]inbox.Message, error) {
	var out []inbox.Message
	for i, in := range f.msgs {
		if id := int64(101 + i); id > after {
			out = append(out, inbox.Message{ID: id, Direction: inbox.DirectionIn, Text: in.Text, ExternalID: in.ExternalID})
		}
	}
	return append(out, inbox.Message{ID: 900, Direction: inbox.DirectionOut, Text: "hi", AuthorName: "Ada",
		ExternalID: "widget-900"}), nil
}

type fakeQueues struct{ forms []queues.ContactForm }

func (q *fakeQueues) Widget(ctx context.Context, channelID string) (queues.WidgetConfig, error) {
	if channelID != "site" {
		return queues.WidgetConfig{}, inbox.Errorf(inbox.ENotFound, "no widget")
	}
	return queues.WidgetConfig{Message: "We are here"}, nil
}

func (q *fakeQueues) SubmitContact(ctx context.Context, channelID string, f queues.ContactForm) (queues.Contact, error) {
	q.forms = append(q.forms, f)
	return queues.Contact{ID: 3, ConversationID: 9}, nil
}

type httpEnv struct {
	e      *echo.Echo
	host   *fakeHost
	ingest *fakeIngest
	queues *fakeQueues
}

// newHTTPEnv mounts the widget's routes and gate on echo as the API does,
// with an error handler that answers the error's code.
func newHTTPEnv(t *testing.T, conf string) *httpEnv {
	t.Helper()
	vs := &fakeVisitors{byHash: map[string]string{}, convs: map[string]int64{}}
	env := &httpEnv{e: echo.New(), host: &fakeHost{}, queues: &fakeQueues{},
		ingest: &fakeIngest{v: vs, ids: map[string]int64{}}}
	h := NewHTTP(HTTPOptions{Channels: map[string]*Channel{"site": mustBuild(t, conf)}, Visitors: vs,
		Ingest: env.ingest, Messages: env.ingest, Queues: env.queues, ContactBurst: 2, Host: env.host,
		Clock: &fixedClock{time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}})
	env.e.HTTPErrorHandler = func(err error, c echo.Context) {
		c.JSON(http.StatusTeapot, map[string]string{"code": inbox.ErrorCode(err)})
	}
	env.e.Use(h.Gate)
	for _, r := range h.Routes() {
		env.e.Add(r.Method, r.Path, r.Handler)
	}
	return env
}

func (env *httpEnv) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	env.e.ServeHTTP(w, req)
	return w
}

// code is the error code a response carries ("" for a success).
func code(w *httptest.ResponseRecorder) string {
	if w.Code != http.StatusTeapot {
		return ""
	}
	var b struct{ Code string }
	json.Unmarshal(w.Body.Bytes(), &b)
	return b.Code
}

func (env *httpEnv) register(t *testing.T) string {
	t.Helper()
	w := env.do("POST", "/widget/v1/site/visitors", `{}`)
	var b struct{ Token string }
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &b) != nil || b.Token == "" {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	return b.Token
}

// TestHTTPGate: a page of a site that is not allowed gets 403 and no CORS
// grant on every /widget/v1/<channel>/ route, the queue's too; an allowed
// one gets the grant; other paths and unknown channels pass untouched.
func TestHTTPGate(t *testing.T) {
	env := newHTTPEnv(t, `{allowed_origins: ["https://shop.example"]}`)
	for _, p := range []string{"/widget/v1/site/settings", "/widget/v1/site/config", "/widget/v1/site/messages"} {
		w := env.do("GET", p, "", "Origin", "https://evil.example")
		if code(w) != inbox.EForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from another site: %d %s %q", p, w.Code, w.Body, w.Header().Get("Access-Control-Allow-Origin"))
		}
	}
	w := env.do("OPTIONS", "/widget/v1/site/messages", "", "Origin", "https://shop.example")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		w.Header().Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Last-Event-ID" {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	if w := env.do("GET", "/widget/v1/nope/settings", "", "Origin", "https://evil.example"); code(w) != inbox.ENotFound {
		t.Errorf("unknown channel: %d %s", w.Code, w.Body)
	}
	if w := env.do("GET", "/widget.js", "", "Origin", "https://evil.example"); w.Code != http.StatusOK ||
		w.Header().Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("widget.js: %d %v", w.Code, w.Header())
	}
}

// TestHTTPVisitorMessages: a token is required and must be known; a
// visitor's message is ingested under the widget's external-id format,
// a resend is the same message (200), and the visitor reads its messages
// back with its client ids and the agents' names, never other fields.
func TestHTTPVisitorMessages(t *testing.T) {
	env := newHTTPEnv(t, `{}`)
	for _, auth := range []string{"", "Bearer ", "Bearer unknown"} {
		if w := env.do("GET", "/widget/v1/site/messages", "", "Authorization", auth); code(w) != inbox.EUnauthorized {
			t.Errorf("token %q: %d %s", auth, w.Code, w.Body)
		}
	}
	tok := env.register(t)
	w := env.do("GET", "/widget/v1/site/messages", "", "Authorization", "Bearer "+tok)
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"items":[],"next_cursor":""}` {
		t.Fatalf("no conversation yet: %d %s", w.Code, w.Body)
	}
	post := `{"client_id":"abcdefgh12","text":" hello ","page_url":"https://shop.example/cart"}`
	for i, want := range []int{http.StatusCreated, http.StatusOK} {
		w := env.do("POST", "/widget/v1/site/messages", post, "Authorization", "Bearer "+tok, "User-Agent", "Firefox")
		var b struct {
			Conversation int64
			Message      visitorMessage
		}
		if w.Code != want || json.Unmarshal(w.Body.Bytes(), &b) != nil || b.Conversation != 70 ||
			b.Message.ID != 101 || b.Message.ClientID != "abcdefgh12" || b.Message.Text != "hello" {
			t.Fatalf("post %d: %d %s", i, w.Code, w.Body)
		}
	}
	if len(env.ingest.msgs) != 1 {
		t.Fatalf("ingested %d messages", len(env.ingest.msgs))
	}
	in := env.ingest.msgs[0]
	if in.ChannelID != "site" || in.ExternalID != in.Contact.ExternalID+"/abcdefgh12" ||
		in.Contact.Meta[MetaBrowser] != "Firefox" || in.Contact.Meta[MetaPageURL] != "https://shop.example/cart" {
		t.Fatalf("inbound: %+v", in)
	}
	if w := env.do("GET", "/widget/v1/site/messages?conversation=71", "", "Authorization", "Bearer "+tok); code(w) != inbox.ENotFound {
		t.Errorf("another conversation: %d %s", w.Code, w.Body)
	}
	if w := env.do("GET", "/widget/v1/site/messages?after=-1", "", "Authorization", "Bearer "+tok); code(w) != inbox.EInvalid {
		t.Errorf("after=-1: %d %s", w.Code, w.Body)
	}
	w = env.do("GET", "/widget/v1/site/messages?conversation=70", "", "Authorization", "Bearer "+tok)
	var page struct {
		Conversation int64
		Items        []map[string]any
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &page) != nil || page.Conversation != 70 || len(page.Items) != 2 {
		t.Fatalf("messages: %d %s", w.Code, w.Body)
	}
	if page.Items[0]["client_id"] != "abcdefgh12" || page.Items[1]["author"] != "Ada" || page.Items[1]["client_id"] != nil {
		t.Fatalf("items: %v", page.Items)
	}
	for _, m := range page.Items {
		if len(m) > 6 {
			t.Errorf("a visitor sees internal fields: %v", m)
		}
	}
	if w := env.do("POST", "/widget/v1/site/typing", "", "Authorization", "Bearer "+tok); w.Code != http.StatusNoContent ||
		len(env.host.typing) != 1 || env.host.typing[0] != 7 {
		t.Fatalf("typing: %d %s %v", w.Code, w.Body, env.host.typing)
	}
}

// TestHTTPRateLimits: past the visitor's limit a message is 429 with a
// Retry-After, and so is a contact form past the address's burst.
func TestHTTPRateLimits(t *testing.T) {
	env := newHTTPEnv(t, `{rate_limits: {visitor_per_minute: 4}}`)
	tok := env.register(t)
	var w *httptest.ResponseRecorder
	for range 2 { // a burst of a quarter of the minute's 4
		w = env.do("POST", "/widget/v1/site/typing", "", "Authorization", "Bearer "+tok)
	}
	if code(w) != inbox.ERateLimited || w.Header().Get("Retry-After") == "" {
		t.Fatalf("typing past the limit: %d %s %v", w.Code, w.Body, w.Header())
	}
	for range 3 {
		w = env.do("POST", "/widget/v1/site/contact", `{"email":"a@b.example"}`)
	}
	if code(w) != inbox.ERateLimited || w.Header().Get("Retry-After") != "60" || len(env.queues.forms) != 2 {
		t.Fatalf("contact past the burst: %d %s %v (%d forms)", w.Code, w.Body, w.Header(), len(env.queues.forms))
	}
	if w := env.do("POST", "/widget/v1/other/contact", `{}`); code(w) != inbox.ENotFound {
		t.Fatalf("contact of an unknown channel: %d %s", w.Code, w.Body)
	}
	w = env.do("GET", "/widget/v1/site/config", "")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" || !strings.Contains(w.Body.String(), "We are here") {
		t.Fatalf("config: %d %s", w.Code, w.Body)
	}
}

// TestHTTPFeedSpec: the widget hands the API a feed of the visitor's own
// conversation (replayed from its index) and its queue's mode notices; an
// anonymous page's feed has mode notices only and no replay. Frames carry
// what a visitor may see: agents typing, not the visitor's own notices.
func TestHTTPFeedSpec(t *testing.T) {
	env := newHTTPEnv(t, `{}`)
	if w := env.do("GET", "/widget/v1/site/events?token=nope", ""); code(w) != inbox.EUnauthorized {
		t.Fatalf("unknown token: %d %s", w.Code, w.Body)
	}
	if w := env.do("GET", "/widget/v1/site/events", ""); w.Code != http.StatusOK || env.host.feed == nil {
		t.Fatalf("anonymous page: %d %s", w.Code, w.Body)
	}
	anon := env.host.feed
	msg := &inbox.Event{ID: 5, Kind: inbox.EventMessageCreated, ConversationID: 7,
		Payload: json.RawMessage(`{"id":5,"direction":"out","text":"hi","author":{"name":"Ada"}}`)}
	mode := &inbox.Event{ID: 6, Kind: inbox.EventQueueOpened, Queue: "support"}
	if anon.Visitor != "" || anon.Channel != "site" || anon.Replay != nil || anon.Filter(msg) || !anon.Filter(mode) ||
		string(anon.Hello.Data) != `{"conversation":0}` || anon.Resumed.Name != "mode" {
		t.Fatalf("anonymous feed: %+v", anon)
	}
	tok := env.register(t)
	env.do("POST", "/widget/v1/site/messages", `{"client_id":"abcdefgh12","text":"hello"}`, "Authorization", "Bearer "+tok)
	env.do("GET", "/widget/v1/site/events?token="+tok, "")
	f := env.host.feed
	if f.Visitor == "" || f.Replay == nil || f.Replay.ConversationID != 7 || string(f.Hello.Data) != `{"conversation":70}` {
		t.Fatalf("visitor feed: %+v", f)
	}
	other := &inbox.Event{ID: 7, Kind: inbox.EventMessageCreated, ConversationID: 8}
	otherQueue := &inbox.Event{ID: 8, Kind: inbox.EventQueueOpened, Queue: "sales"}
	if !f.Filter(msg) || !f.Filter(mode) || f.Filter(other) || f.Filter(otherQueue) {
		t.Fatal("filter")
	}
	if name, data, ok := f.Encode(msg); !ok || name != "message" || !strings.Contains(string(data), `"author":"Ada"`) {
		t.Fatalf("message frame: %s %s %v", name, data, ok)
	}
	agent := &inbox.Event{Kind: inbox.EventTyping, ConversationID: 7, Payload: json.RawMessage(`{"who":"agent","name":"Ada"}`)}
	visitor := &inbox.Event{Kind: inbox.EventTyping, ConversationID: 7, Payload: json.RawMessage(`{"who":"visitor"}`)}
	if name, data, ok := f.Encode(agent); !ok || name != "typing" || string(data) != `{"name":"Ada"}` {
		t.Fatalf("agent typing: %s %s %v", name, data, ok)
	}
	if _, _, ok := f.Encode(visitor); ok {
		t.Fatal("a visitor is sent its own typing notice")
	}
}
