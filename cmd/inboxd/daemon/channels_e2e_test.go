package daemon_test

// End-to-end tests of the provider channels through the running daemon:
// real service, store (SQLite, and PostgreSQL when configured) and HTTP
// server, with each provider played by a compact fake on 127.0.0.1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/email/dovecottest"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// shiftClock is the wall clock moved forward by a settable offset, so
// that a test can jump past a provider's reply window while the outbox
// and pollers keep running in real time.
type shiftClock struct{ off atomic.Int64 }

func (c *shiftClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.off.Load())).UTC().Truncate(time.Microsecond)
}

func (c *shiftClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// chanDaemon describes a daemon to start with provider channels.
type chanDaemon struct {
	dbURL     string
	publicURL string
	channels  string // YAML list items, indented by two spaces
	clock     inbox.Clock
}

// channelConfig is the parsed, validated config of a chanDaemon.
func channelConfig(t *testing.T, o chanDaemon) *daemon.Config {
	t.Helper()
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
public_url: %q
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
outbox: {base_delay: 20ms, max_delay: 60ms, max_attempts: 3}
queues:
  - {id: support, name: Support}
channels:
%s
`, o.publicURL, o.dbURL, o.channels)
	cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startChannels starts a daemon on o.dbURL. On a fresh database it adds
// the agent Anna (queue support); anna is her token either way.
func startChannels(t *testing.T, o chanDaemon, fresh bool) *env {
	t.Helper()
	if o.clock == nil {
		o.clock = inbox.SystemClock{}
	}
	dm, err := daemon.Start(context.Background(), channelConfig(t, o), daemon.Options{
		Logger: slog.New(slog.DiscardHandler), Notice: io.Discard, BcryptCost: bcrypt.MinCost,
		OutboxPoll: 20 * time.Millisecond, Clock: o.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	e := &env{t: t, d: dm, base: "http://" + dm.Addr}
	e.owner = e.login("owner@example.com", "owner-password")
	if fresh {
		e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	} else {
		e.anna = e.login("anna@example.com", "password-Anna")
	}
	return e
}

// eachDialect runs fn on a fresh database of every dialect under test.
func eachDialect(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, storetest.URL(t, d)) })
	}
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type msgView struct {
	ID          int64
	Direction   string
	Text        string
	Delivery    *string
	Error       string
	Auto        bool
	Author      *struct{ Name string }
	Attachments []struct {
		ID       int64
		Name     string
		MIMEType string `json:"mime_type"`
		Size     int64
		URL      string
	}
}

func (m msgView) delivery() string {
	if m.Delivery == nil {
		return ""
	}
	return *m.Delivery
}

// messagesOf lists a conversation's messages, oldest first.
func (e *env) messagesOf(conv int64) []msgView {
	e.t.Helper()
	var p struct{ Items []msgView }
	if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.owner, nil, &p); st != 200 {
		e.t.Fatalf("messages of %d: %d", conv, st)
	}
	return p.Items
}

// journalOf lists the journal's conversations on one channel.
func (e *env) journalOf(channel string) []item {
	e.t.Helper()
	var p page
	if st := e.call("GET", "/api/v1/journal?channel="+channel, e.owner, nil, &p); st != 200 {
		e.t.Fatalf("journal: %d", st)
	}
	return p.Items
}

// waitConversation waits for the channel's only conversation.
func (e *env) waitConversation(channel string) item {
	e.t.Helper()
	var it item
	waitUntil(e.t, "a conversation on "+channel, func() bool {
		items := e.journalOf(channel)
		if len(items) > 0 {
			it = items[0]
		}
		return len(items) > 0
	})
	return it
}

// reply posts Anna's reply and returns the new message's id.
func (e *env) reply(conv int64, text string) int64 {
	e.t.Helper()
	var m msgView
	if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": text}, &m); st != 201 {
		e.t.Fatalf("reply: %d", st)
	}
	return m.ID
}

// refusedReply posts a reply that must be refused with 409; it returns
// the error message.
func (e *env) refusedReply(conv int64, text string) string {
	e.t.Helper()
	var eb struct {
		Error struct{ Code, Message string }
	}
	if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": text}, &eb); st != 409 || eb.Error.Code != "conflict" {
		e.t.Fatalf("late reply: %d %+v, want 409 conflict", st, eb)
	}
	return eb.Error.Message
}

// message returns one message of a conversation as the API shows it.
func (e *env) message(conv, id int64) msgView {
	e.t.Helper()
	for _, m := range e.messagesOf(conv) {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("message %d not in conversation %d", id, conv)
	return msgView{}
}

// waitDelivery waits until message id of conv shows delivery state want.
func (e *env) waitDelivery(conv, id int64, want string) msgView {
	e.t.Helper()
	var m msgView
	waitUntil(e.t, fmt.Sprintf("message %d %s", id, want), func() bool {
		m = e.message(conv, id)
		return m.delivery() == want
	})
	return m
}

// stored returns the stored message (external and provider ids, which
// the API does not show).
func (e *env) stored(conv, id int64) inbox.Message {
	e.t.Helper()
	ms, err := e.d.Store.Messages(context.Background(), conv, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("message %d not stored in conversation %d", id, conv)
	return inbox.Message{}
}

// hookPost POSTs body to path with the given headers.
func (e *env) hookPost(path string, body []byte, headers map[string]string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) get(path string) (int, http.Header, []byte) {
	e.t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type readiness struct {
	Status string
	Checks map[string]string
}

func (e *env) readyz() (int, readiness) {
	var rd readiness
	st := e.call("GET", "/readyz", "", nil, &rd)
	return st, rd
}

// ---------------------------------------------------------------- Telegram

const (
	tgToken     = "123456:E2E-token_secret"
	tgHookToken = "654321:E2E-hook_token"
	tgSecret    = "hook-secret_0123456789"
	tgChat      = 777001
)

// tgFake is a Bot API server: getMe, deleteWebhook, getUpdates with
// Telegram's offset semantics (updates stay until an offset above them is
// asked for), sendMessage, setWebhook, getFile and file downloads.
type tgFake struct {
	*httptest.Server
	token string
	file  []byte

	mu       sync.Mutex
	updates  []json.RawMessage // every update ever queued, by update_id order
	ids      []int
	offsets  []int // the offset of every getUpdates call
	conflict bool
	sent     []map[string]any
	hooks    []map[string]any
	fileGets int
}

func newTGFake(t *testing.T, token string) *tgFake {
	f := &tgFake{token: token, file: append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte("jpegdata"), 200)...)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *tgFake) push(id int, update string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, json.RawMessage(update))
	f.ids = append(f.ids, id)
}

func (f *tgFake) setConflict(v bool) { f.mu.Lock(); f.conflict = v; f.mu.Unlock() }

func (f *tgFake) snapshot() (offsets []int, sent, hooks []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.offsets...), append([]map[string]any(nil), f.sent...), append([]map[string]any(nil), f.hooks...)
}

func tgOK(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func tgFail(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": code, "description": desc})
}

func (f *tgFake) serve(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+f.token+"/"); ok {
		if p != "photos/file_7.jpg" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		f.fileGets++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(f.file)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+f.token+"/")
	if !ok {
		tgFail(w, 401, "Unauthorized")
		return
	}
	body := map[string]any{}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	dec.Decode(&body)
	switch method {
	case "getMe":
		tgOK(w, map[string]any{"id": 42, "is_bot": true, "first_name": "Shop", "username": "shop_bot"})
	case "deleteWebhook":
		tgOK(w, true)
	case "setWebhook":
		f.mu.Lock()
		f.hooks = append(f.hooks, body)
		f.mu.Unlock()
		tgOK(w, true)
	case "getUpdates":
		offset := 0
		if n, ok := body["offset"].(json.Number); ok {
			v, _ := n.Int64()
			offset = int(v)
		}
		f.mu.Lock()
		f.offsets = append(f.offsets, offset)
		conflict := f.conflict
		f.mu.Unlock()
		if conflict {
			tgFail(w, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
			return
		}
		// A short long poll: answer as soon as something is pending.
		deadline := time.Now().Add(150 * time.Millisecond)
		for {
			f.mu.Lock()
			var pending []json.RawMessage
			for i, id := range f.ids {
				if id >= offset {
					pending = append(pending, f.updates[i])
				}
			}
			f.mu.Unlock()
			if len(pending) > 0 || time.Now().After(deadline) {
				tgOK(w, append([]json.RawMessage{}, pending...))
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	case "sendMessage":
		f.mu.Lock()
		f.sent = append(f.sent, body)
		n := len(f.sent)
		f.mu.Unlock()
		chat, _ := body["chat_id"].(json.Number).Int64()
		tgOK(w, map[string]any{"message_id": 500 + n, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chat, "type": "private"}, "text": body["text"]})
	case "getFile":
		tgOK(w, map[string]any{"file_id": body["file_id"], "file_unique_id": "uq7", "file_size": len(f.file), "file_path": "photos/file_7.jpg"})
	default:
		tgFail(w, 404, "Not Found: method not found")
	}
}

// tgText is a private message update from the customer Ivan (@ivan_k).
func tgText(update, msgID int, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,`+
		`"chat":{"id":%d,"type":"private","first_name":"Ivan","username":"ivan_k"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Ivan","username":"ivan_k","language_code":"en"},"text":%q}}`,
		update, msgID, time.Now().Unix(), tgChat, tgChat, text)
}

func tgPhoto(update, msgID int, size int) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,`+
		`"chat":{"id":%d,"type":"private","first_name":"Ivan","username":"ivan_k"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Ivan","username":"ivan_k"},"caption":"my receipt",`+
		`"photo":[{"file_id":"SMALL-id","file_unique_id":"s1","width":90,"height":67,"file_size":900},`+
		`{"file_id":"BIG-file-id","file_unique_id":"b1","width":800,"height":600,"file_size":%d}]}}`,
		update, msgID, time.Now().Unix(), tgChat, tgChat, size)
}

func TestChannelTelegram(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		poll := newTGFake(t, tgToken)
		hook := newTGFake(t, tgHookToken)
		o := chanDaemon{dbURL: dbURL, publicURL: "https://inbox.example.com/", channels: fmt.Sprintf(`
  - {id: tg, kind: telegram, name: Shop bot, queue: support, token: %q, api_base_url: %q, poll_timeout: 1}
  - {id: tgh, kind: telegram, name: Hook bot, queue: support, token: %q, mode: webhook, secret: %q, api_base_url: %q}
`, tgToken, poll.URL, tgHookToken, tgSecret, hook.URL)}
		poll.push(1, tgText(1, 10, "Hello from Telegram"))
		e := startChannels(t, o, true)

		// Polling: the update becomes a conversation titled @username.
		it := e.waitConversation("tg")
		if it.Title != "@ivan_k" || it.Channel.Kind != "telegram" || it.Status != "unassigned" {
			t.Fatalf("journal item: %+v", it)
		}
		// An agent's reply goes out as sendMessage to the chat.
		id := e.reply(it.ID, "Hi Ivan, Anna here.")
		m := e.waitDelivery(it.ID, id, "sent")
		_, sent, _ := poll.snapshot()
		if len(sent) != 1 || fmt.Sprint(sent[0]["chat_id"]) != strconv.Itoa(tgChat) || sent[0]["text"] != "Hi Ivan, Anna here." {
			t.Fatalf("sendMessage calls: %v", sent)
		}
		if pid := e.stored(it.ID, m.ID).ProviderID; pid != fmt.Sprintf("%d:501", tgChat) {
			t.Fatalf("provider id %q", pid)
		}

		// A photo is fetched through the API without the token showing.
		poll.push(2, tgPhoto(2, 11, len(poll.file)))
		var photo msgView
		waitUntil(t, "the photo message", func() bool {
			ms := e.messagesOf(it.ID)
			photo = ms[len(ms)-1]
			return len(ms) == 3
		})
		if photo.Text != "[photo]\nmy receipt" || len(photo.Attachments) != 1 || photo.Attachments[0].MIMEType != "image/jpeg" {
			t.Fatalf("photo message: %+v", photo)
		}
		testTelegramAttachment(t, e, poll, photo.Attachments[0].URL)

		// An edit replaces the text of the message it names.
		poll.push(3, strings.Replace(strings.Replace(tgText(3, 10, "Hello from Telegram (edited)"), `"message"`, `"edited_message"`, 1),
			`"text"`, fmt.Sprintf(`"edit_date":%d,"text"`, time.Now().Unix()), 1))
		waitUntil(t, "the edit", func() bool { return e.messagesOf(it.ID)[0].Text == "Hello from Telegram (edited)" })
		if n := len(e.messagesOf(it.ID)); n != 3 {
			t.Fatalf("the edit added a message: %d", n)
		}

		// Webhook mode registers itself with the secret, then takes updates.
		waitUntil(t, "setWebhook", func() bool { _, _, hooks := hook.snapshot(); return len(hooks) > 0 })
		_, _, hooks := hook.snapshot()
		if hooks[0]["url"] != "https://inbox.example.com/hooks/telegram/tgh" || hooks[0]["secret_token"] != tgSecret {
			t.Fatalf("setWebhook: %v", hooks[0])
		}
		if st, body := e.hookPost("/hooks/telegram/tgh", []byte(tgText(900, 5, "via webhook, forged")),
			map[string]string{"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}); st != 401 {
			t.Fatalf("wrong secret: %d %s", st, body)
		}
		if st, body := e.hookPost("/hooks/telegram/tgh", []byte(tgText(901, 6, "via webhook")),
			map[string]string{"X-Telegram-Bot-Api-Secret-Token": tgSecret}); st != 200 {
			t.Fatalf("webhook: %d %s", st, body)
		}
		hooked := e.journalOf("tgh")
		if len(hooked) != 1 || hooked[0].Title != "@ivan_k" {
			t.Fatalf("webhook conversations: %+v", hooked)
		}
		if ms := e.messagesOf(hooked[0].ID); len(ms) != 1 || ms[0].Text != "via webhook" {
			t.Fatalf("webhook messages: %+v", ms)
		}

		// 409 from getUpdates: /readyz says why, and recovers.
		waitUntil(t, "ready", func() bool { st, _ := e.readyz(); return st == 200 })
		poll.setConflict(true)
		var rd readiness
		waitUntil(t, "/readyz to report the conflict", func() bool {
			var st int
			st, rd = e.readyz()
			return st == 503
		})
		if msg := rd.Checks["channel:tg"]; !strings.Contains(msg, "409") || !strings.Contains(msg, "another process uses this bot token") ||
			rd.Checks["channel:tgh"] != "ok" || rd.Checks["database"] != "ok" {
			t.Fatalf("readyz checks: %+v", rd.Checks)
		}
		poll.setConflict(false)
		waitUntil(t, "/readyz to recover", func() bool { st, _ := e.readyz(); return st == 200 })

		// Restart on the same database: polling resumes at the stored
		// offset, and nothing already journaled comes in again.
		e.d.Stop()
		before, _, _ := poll.snapshot()
		e = startChannels(t, o, false)
		poll.push(4, tgText(4, 12, "after the restart"))
		waitUntil(t, "the message after the restart", func() bool { return len(e.messagesOf(it.ID)) == 4 })
		after, _, _ := poll.snapshot()
		if first := after[len(before)]; first != 4 {
			t.Fatalf("first getUpdates after the restart asked for offset %d, want 4 (offsets %v)", first, after)
		}
		var texts []string
		for _, m := range e.messagesOf(it.ID) {
			texts = append(texts, m.Direction+":"+m.Text)
		}
		if want := "[in:Hello from Telegram (edited) out:Hi Ivan, Anna here. in:[photo]\nmy receipt in:after the restart]"; fmt.Sprint(texts) != want {
			t.Fatalf("messages after the restart: %q", texts)
		}
		if n := len(e.journalOf("tg")); n != 1 {
			t.Fatalf("%d telegram conversations", n)
		}
	})
}

// testTelegramAttachment opens a Telegram photo through the API.
func testTelegramAttachment(t *testing.T, e *env, f *tgFake, path string) {
	t.Helper()
	if st, _, _ := e.get(path); st != 401 {
		t.Fatalf("anonymous attachment: %d", st)
	}
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.owner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, f.file) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("attachment: %d %s, %d bytes (want %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(b), len(f.file))
	}
	secretPart := tgToken[strings.IndexByte(tgToken, ':')+1:]
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(v, secretPart) || strings.Contains(v, f.URL) {
				t.Fatalf("header %s exposes the bot: %q", k, v)
			}
		}
	}
	if bytes.Contains(b, []byte(secretPart)) {
		t.Fatal("body exposes the token")
	}
	if f.fileGets != 1 {
		t.Fatalf("file downloaded %d times", f.fileGets)
	}
}

// ------------------------------------------------------- Messenger, WhatsApp

const (
	fbPage, fbPSID, fbSecret, fbVerify, fbToken = "1100", "2200", "fb-app-secret", "fb-verify", "fb-page-token"
	igAcct, igSID, igToken                      = "1700", "2700", "ig-page-token"
	waPhone, waFrom, waSecret, waVerify, waTok  = "3300", "5511999990000", "wa-app-secret", "wa-verify", "wa-access-token"
)

// graphFake is the Graph API: profiles of the Messenger and Instagram
// customers, the Send API and WhatsApp's messages endpoint.
type graphFake struct {
	*httptest.Server
	mu    sync.Mutex
	sends []graphSend
}

type graphSend struct {
	Path, Auth string
	Body       map[string]any
	ID         string
}

func newGraphFake(t *testing.T) *graphFake {
	f := &graphFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *graphFake) sent() []graphSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]graphSend(nil), f.sends...)
}

func (f *graphFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	auth := r.Header.Get("Authorization")
	if r.Method == http.MethodGet {
		switch {
		case r.URL.Path == "/"+fbPSID && auth == "Bearer "+fbToken:
			fmt.Fprint(w, `{"first_name":"Maria","last_name":"Rossi","name":"Maria Rossi","profile_pic":"https://cdn.example/p.jpg","id":"`+fbPSID+`"}`)
		case r.URL.Path == "/"+igSID && auth == "Bearer "+igToken:
			fmt.Fprint(w, `{"name":"Olga K","username":"olga.k","id":"`+igSID+`"}`)
		case r.URL.Path == "/MEDIA1" && auth == "Bearer "+waTok:
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":"%s/media/MEDIA1.bin","mime_type":"image/png","file_size":%d,"id":"MEDIA1"}`, f.URL, len(pngBytes))
		case r.URL.Path == "/media/MEDIA1.bin" && auth == "Bearer "+waTok:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(pngBytes)
		default:
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100}}`)
		}
		return
	}
	body := map[string]any{}
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	n := len(f.sends) + 1
	s := graphSend{Path: r.URL.Path, Auth: auth, Body: body}
	if strings.HasPrefix(r.URL.Path, "/"+waPhone+"/") {
		s.ID = fmt.Sprintf("wamid.OUT%d", n)
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, body["to"], body["to"], s.ID)
	} else {
		s.ID = fmt.Sprintf("m_out_%d", n)
		fmt.Fprintf(w, `{"recipient_id":"x","message_id":%q}`, s.ID)
	}
	f.sends = append(f.sends, s)
	f.mu.Unlock()
}

// pngBytes is a file WhatsApp keeps for us: a PNG signature and filler.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 300)...)

// metaPost POSTs a body signed with X-Hub-Signature-256.
func (e *env) metaPost(path, secret, body string) (int, string) {
	return e.hookPost(path, []byte(body), map[string]string{"X-Hub-Signature-256": "sha256=" + hooksig.Sign([]byte(secret), []byte(body))})
}

func (e *env) mustMetaPost(path, secret, body string) {
	e.t.Helper()
	if st, b := e.metaPost(path, secret, body); st != 200 {
		e.t.Fatalf("POST %s: %d %s", path, st, b)
	}
}

func fbEvent(ev string) string {
	return fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[%s]}]}`, fbPage, time.Now().UnixMilli(), ev)
}

func fbFromCustomer(body string) string {
	return fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,%s}`, fbPSID, fbPage, time.Now().UnixMilli(), body)
}

func waChange(value string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},%s}}]}]}`, waPhone, value)
}

func waStatus(id, status string) string {
	return waChange(fmt.Sprintf(`"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q}]`, id, status, time.Now().Unix(), waFrom))
}

func (e *env) handshake(path, token string) (int, string) {
	e.t.Helper()
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {"challenge-1158201444"}}
	st, _, b := e.get(path + "?" + q.Encode())
	return st, string(b)
}

func TestChannelMetaAndWhatsApp(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		g := newGraphFake(t)
		clock := &shiftClock{}
		e := startChannels(t, chanDaemon{dbURL: dbURL, clock: clock, channels: fmt.Sprintf(`
  - {id: fb, kind: messenger, name: Facebook, queue: support, page_id: %q, page_access_token: %q, app_secret: %q, verify_token: %q, api_base_url: %q}
  - {id: ig, kind: instagram, name: Instagram, queue: support, page_id: %q, page_access_token: %q, app_secret: %q, verify_token: %q, api_base_url: %q}
  - {id: wa, kind: whatsapp, name: WhatsApp, queue: support, phone_number_id: %q, access_token: %q, app_secret: %q, verify_token: %q, api_base_url: %q}
`, fbPage, fbToken, fbSecret, fbVerify, g.URL, igAcct, igToken, fbSecret, fbVerify, g.URL, waPhone, waTok, waSecret, waVerify, g.URL)}, true)

		// Handshakes.
		for _, h := range []struct{ path, token string }{{"/hooks/meta/fb", fbVerify}, {"/hooks/meta/ig", fbVerify}, {"/hooks/whatsapp/wa", waVerify}} {
			if st, b := e.handshake(h.path, h.token); st != 200 || b != "challenge-1158201444" {
				t.Fatalf("handshake %s: %d %q", h.path, st, b)
			}
			if st, _ := e.handshake(h.path, "wrong"); st != 403 {
				t.Fatalf("handshake %s with a wrong token: %d", h.path, st)
			}
		}

		fb := testMessenger(t, e, g)
		ig := testInstagram(t, e, g)
		wa := testWhatsApp(t, e, g)

		// A day later the windows are closed: refused up front.
		clock.advance(25 * time.Hour)
		before := len(g.sent())
		for _, c := range []struct {
			conv int64
			name string
		}{{fb, "Messenger"}, {ig, "Instagram"}, {wa, "WhatsApp"}} {
			if msg := e.refusedReply(c.conv, "Sorry for the delay"); !strings.Contains(msg, c.name) || !strings.Contains(msg, "24 hours") {
				t.Fatalf("%s late reply message: %q", c.name, msg)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(g.sent()); n != before {
			t.Fatalf("refused replies reached the provider: %d sends", n-before)
		}
		// The customer writes again: the window opens again.
		e.mustMetaPost("/hooks/meta/fb", fbSecret, fbEvent(fbFromCustomer(`"message":{"mid":"m_in_2","text":"Hello?"}`)))
		e.reply(fb, "Here now")
	})
}

func testMessenger(t *testing.T, e *env, g *graphFake) int64 {
	in := fbEvent(fbFromCustomer(`"message":{"mid":"m_in_1","text":"Is my order shipped?"}`))
	if st, _ := e.hookPost("/hooks/meta/fb", []byte(in), map[string]string{"X-Hub-Signature-256": "sha256=" + hooksig.Sign([]byte("wrong"), []byte(in))}); st != 401 {
		t.Fatalf("wrong signature: %d", st)
	}
	if n := len(e.journalOf("fb")); n != 0 {
		t.Fatalf("unsigned post stored %d conversations", n)
	}
	e.mustMetaPost("/hooks/meta/fb", fbSecret, in)
	it := e.waitConversation("fb")
	if it.Title != "Maria Rossi" || it.Channel.Kind != "messenger" {
		t.Fatalf("messenger conversation: %+v", it)
	}
	e.mustMetaPost("/hooks/meta/fb", fbSecret, in) // Meta's retry
	if ms := e.messagesOf(it.ID); len(ms) != 1 || ms[0].Text != "Is my order shipped?" {
		t.Fatalf("after the duplicate: %+v", ms)
	}

	id := e.reply(it.ID, "Yes, yesterday.")
	e.waitDelivery(it.ID, id, "sent")
	sends := g.sent()
	if len(sends) != 1 {
		t.Fatalf("sends: %+v", sends)
	}
	s := sends[0]
	want := `{"message":{"text":"Yes, yesterday."},"messaging_type":"RESPONSE","recipient":{"id":"` + fbPSID + `"}}`
	if got, _ := json.Marshal(s.Body); s.Path != "/"+fbPage+"/messages" || s.Auth != "Bearer "+fbToken || string(got) != want {
		t.Fatalf("send API call %s %s %s", s.Path, s.Auth, got)
	}
	if pid := e.stored(it.ID, id).ProviderID; pid != s.ID {
		t.Fatalf("provider id %q, want %q", pid, s.ID)
	}

	// Echo, delivery, read: the reply moves forward, no message appears.
	now := time.Now().UnixMilli()
	e.mustMetaPost("/hooks/meta/fb", fbSecret, fbEvent(fmt.Sprintf(
		`{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":%q,"is_echo":true,"text":"Yes, yesterday."}}`,
		fbPage, fbPSID, now, s.ID)))
	if m := e.message(it.ID, id); m.delivery() != "sent" {
		t.Fatalf("after the echo: %s", m.delivery())
	}
	e.mustMetaPost("/hooks/meta/fb", fbSecret, fbEvent(fbFromCustomer(fmt.Sprintf(`"delivery":{"mids":[%q],"watermark":%d}`, s.ID, now+1))))
	e.waitDelivery(it.ID, id, "delivered")
	e.mustMetaPost("/hooks/meta/fb", fbSecret, fbEvent(fbFromCustomer(fmt.Sprintf(`"read":{"watermark":%d}`, now+1000))))
	e.waitDelivery(it.ID, id, "read")
	// A late delivery report does not move it back.
	e.mustMetaPost("/hooks/meta/fb", fbSecret, fbEvent(fbFromCustomer(fmt.Sprintf(`"delivery":{"mids":[%q],"watermark":%d}`, s.ID, now+2))))
	if ms := e.messagesOf(it.ID); len(ms) != 2 || ms[1].delivery() != "read" {
		t.Fatalf("messages after the reports: %+v", ms)
	}
	return it.ID
}

func testInstagram(t *testing.T, e *env, g *graphFake) int64 {
	in := fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"ig_in_1","text":"Do you ship to Riga?"}}]}]}`,
		igAcct, time.Now().UnixMilli(), igSID, igAcct, time.Now().UnixMilli())
	e.mustMetaPost("/hooks/meta/ig", fbSecret, in)
	it := e.waitConversation("ig")
	if it.Title != "@olga.k" || it.Channel.Kind != "instagram" {
		t.Fatalf("instagram conversation: %+v", it)
	}
	id := e.reply(it.ID, "We do.")
	e.waitDelivery(it.ID, id, "sent")
	sends := g.sent()
	s := sends[len(sends)-1]
	if s.Path != "/"+igAcct+"/messages" || s.Auth != "Bearer "+igToken || fmt.Sprint(s.Body["recipient"]) != "map[id:"+igSID+"]" {
		t.Fatalf("instagram send: %+v", s)
	}
	read := fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":1,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"read":{"mid":%q}}]}]}`,
		igAcct, igSID, igAcct, time.Now().UnixMilli(), s.ID)
	e.mustMetaPost("/hooks/meta/ig", fbSecret, read)
	e.waitDelivery(it.ID, id, "read")
	if n := len(e.messagesOf(it.ID)); n != 2 {
		t.Fatalf("instagram messages: %d", n)
	}
	return it.ID
}

func testWhatsApp(t *testing.T, e *env, g *graphFake) int64 {
	in := waChange(fmt.Sprintf(`"contacts":[{"profile":{"name":"Ana Lima"},"wa_id":%q}],`+
		`"messages":[{"from":%q,"id":"wamid.IN1","timestamp":"%d","type":"text","text":{"body":"Olá, preciso de ajuda"}}]`, waFrom, waFrom, time.Now().Unix()))
	if st, _ := e.metaPost("/hooks/whatsapp/wa", fbSecret, in); st != 401 {
		t.Fatalf("signed with another app's secret: %d", st)
	}
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, in)
	it := e.waitConversation("wa")
	if it.Title != "Ana Lima" || it.Channel.Kind != "whatsapp" {
		t.Fatalf("whatsapp conversation: %+v", it)
	}
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, in)
	if n := len(e.messagesOf(it.ID)); n != 1 {
		t.Fatalf("after the duplicate: %d messages", n)
	}
	id := e.reply(it.ID, "Claro! Como posso ajudar?")
	e.waitDelivery(it.ID, id, "sent")
	sends := g.sent()
	s := sends[len(sends)-1]
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","text":{"body":"Claro! Como posso ajudar?","preview_url":false},"to":"` + waFrom + `","type":"text"}`
	if got, _ := json.Marshal(s.Body); s.Path != "/"+waPhone+"/messages" || s.Auth != "Bearer "+waTok || string(got) != want {
		t.Fatalf("cloud API call %s %s %s", s.Path, s.Auth, got)
	}
	if pid := e.stored(it.ID, id).ProviderID; pid != s.ID {
		t.Fatalf("provider id %q, want %q", pid, s.ID)
	}
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(s.ID, "sent"))
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(s.ID, "delivered"))
	e.waitDelivery(it.ID, id, "delivered")
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(s.ID, "read"))
	e.waitDelivery(it.ID, id, "read")
	// Once read, a failure report cannot undo it; unknown ids change nothing.
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(s.ID, "failed"))
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus("wamid.UNKNOWN", "read"))
	if ms := e.messagesOf(it.ID); len(ms) != 2 || ms[1].delivery() != "read" || ms[1].Error != "" {
		t.Fatalf("messages after the statuses: %+v", ms)
	}

	// A reply too long for one message goes out in parts; the statuses
	// of its parts reach it.
	id = e.reply(it.ID, strings.Repeat("word ", 1000))
	e.waitDelivery(it.ID, id, "sent")
	sends = g.sent()
	p1, p2 := sends[len(sends)-2], sends[len(sends)-1]
	if pid := e.stored(it.ID, id).ProviderID; pid != p1.ID+","+p2.ID {
		t.Fatalf("split reply's provider id %q", pid)
	}
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(p2.ID, "delivered"))
	e.waitDelivery(it.ID, id, "delivered")
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waStatus(p1.ID, "read"))
	e.waitDelivery(it.ID, id, "read")

	// Media stay at WhatsApp and are fetched on demand; gone media are 404.
	e.mustMetaPost("/hooks/whatsapp/wa", waSecret, waChange(fmt.Sprintf(`"contacts":[{"profile":{"name":"Ana Lima"},"wa_id":%q}],`+
		`"messages":[{"from":%q,"id":"wamid.IN2","timestamp":"%d","type":"image","image":{"id":"MEDIA1","mime_type":"image/png","caption":"the box"}},`+
		`{"from":%q,"id":"wamid.IN3","timestamp":"%d","type":"image","image":{"id":"MEDIAGONE","mime_type":"image/png"}}]`,
		waFrom, waFrom, time.Now().Unix(), waFrom, time.Now().Unix())))
	ms := e.messagesOf(it.ID)
	if len(ms) != 5 || len(ms[3].Attachments) != 1 || len(ms[4].Attachments) != 1 || ms[3].Text != "the box" {
		t.Fatalf("media messages: %+v", ms)
	}
	req, _ := http.NewRequest("GET", e.base+ms[3].Attachments[0].URL, nil)
	req.Header.Set("Authorization", "Bearer "+e.owner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, pngBytes) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("media: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
	var eb struct {
		Error struct{ Code, Message string }
	}
	if st := e.call("GET", ms[4].Attachments[0].URL, e.owner, nil, &eb); st != 404 || !strings.Contains(eb.Error.Message, "no longer available") {
		t.Fatalf("gone media: %d %+v", st, eb)
	}
	return it.ID
}

// ------------------------------------------------------------------- Viber

const (
	vbToken  = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
	vbUser   = "01234567890A="
	vbInTok  = "9007199254740993"    // 2^53+1: a float64 would make it ...992
	vbOutTok = "5741311803571721087" // > 2^53 too
)

// viberFake is the REST bot API: send_message (answering a configurable
// status) and set_webhook, which, like Viber, checks the URL with a signed
// "webhook" callback before it answers.
type viberFake struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	calls  []viberCall
}

type viberCall struct {
	Method, Token string
	Body          map[string]any
}

func newViberFake(t *testing.T) *viberFake {
	f := &viberFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *viberFake) setStatus(s int) { f.mu.Lock(); f.status = s; f.mu.Unlock() }

func (f *viberFake) sent(method string) []viberCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []viberCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *viberFake) serve(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	dec.Decode(&body)
	method := strings.TrimPrefix(r.URL.Path, "/pa/")
	f.mu.Lock()
	f.calls = append(f.calls, viberCall{Method: method, Token: r.Header.Get("X-Viber-Auth-Token"), Body: body})
	status := f.status
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Viber-Auth-Token") != vbToken {
		fmt.Fprint(w, `{"status":2,"status_message":"invalidAuthToken"}`)
		return
	}
	switch method {
	case "send_message":
		if status != 0 {
			fmt.Fprintf(w, `{"status":%d,"status_message":"Too many requests, slow down"}`, status)
			return
		}
		// Tokens count up from vbOutTok, one per message sent.
		base, _ := strconv.ParseUint(vbOutTok, 10, 64)
		fmt.Fprintf(w, `{"status":0,"status_message":"ok","message_token":%d,"chat_hostname":"SN-CHAT-05_"}`, base+uint64(len(f.sent("send_message"))-1))
	case "set_webhook":
		check := []byte(fmt.Sprintf(`{"event":"webhook","timestamp":%d,"chat_hostname":"SN-CHAT-05_","message_token":5741311803571721000}`, time.Now().UnixMilli()))
		req, _ := http.NewRequest("POST", fmt.Sprint(body["url"]), bytes.NewReader(check))
		req.Header.Set("X-Viber-Content-Signature", hooksig.Sign([]byte(vbToken), check))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			fmt.Fprint(w, `{"status":1,"status_message":"invalidUrl"}`)
			return
		}
		resp.Body.Close()
		fmt.Fprint(w, `{"status":0,"status_message":"ok","event_types":["delivered","seen","failed","subscribed","unsubscribed","conversation_started"]}`)
	default:
		fmt.Fprint(w, `{"status":3,"status_message":"badData"}`)
	}
}

func (e *env) viberPost(body string) (int, string) {
	return e.hookPost("/hooks/viber/vb", []byte(body), map[string]string{"X-Viber-Content-Signature": hooksig.Sign([]byte(vbToken), []byte(body))})
}

func (e *env) mustViberPost(body string) {
	e.t.Helper()
	if st, b := e.viberPost(body); st != 200 {
		e.t.Fatalf("viber callback: %d %s", st, b)
	}
}

func TestChannelViber(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		f := newViberFake(t)
		o := chanDaemon{dbURL: dbURL, channels: fmt.Sprintf(`
  - {id: vb, kind: viber, name: Viber, queue: support, auth_token: %q, sender_name: Shop support, api_base_url: %q}
`, vbToken, f.URL)}
		e := startChannels(t, o, true)

		in := fmt.Sprintf(`{"event":"message","timestamp":%d,"chat_hostname":"SN-376_","message_token":%s,`+
			`"sender":{"id":%q,"name":"John McClane","language":"en","country":"GB","api_version":10},`+
			`"message":{"type":"text","text":"Yippee-ki-yay"},"silent":false}`, time.Now().UnixMilli(), vbInTok, vbUser)
		if st, _ := e.hookPost("/hooks/viber/vb", []byte(in), map[string]string{"X-Viber-Content-Signature": hooksig.Sign([]byte("other"), []byte(in))}); st != 401 {
			t.Fatalf("bad signature: %d", st)
		}
		e.mustViberPost(in)
		it := e.waitConversation("vb")
		if it.Title != "John McClane" || it.Channel.Kind != "viber" {
			t.Fatalf("viber conversation: %+v", it)
		}
		e.mustViberPost(in)
		ms := e.messagesOf(it.ID)
		if len(ms) != 1 {
			t.Fatalf("after the duplicate: %+v", ms)
		}
		if ext := e.stored(it.ID, ms[0].ID).ExternalID; ext != vbInTok {
			t.Fatalf("inbound message_token stored as %q, want %s", ext, vbInTok)
		}

		// The reply: send_message with the token header; the answer's
		// message_token is the provider id, exactly.
		id := e.reply(it.ID, "Welcome to the party, pal")
		e.waitDelivery(it.ID, id, "sent")
		calls := f.sent("send_message")
		if len(calls) != 1 || calls[0].Token != vbToken || calls[0].Body["receiver"] != vbUser || calls[0].Body["text"] != "Welcome to the party, pal" ||
			calls[0].Body["type"] != "text" || fmt.Sprint(calls[0].Body["sender"]) != "map[name:Shop support]" {
			t.Fatalf("send_message calls: %+v", calls)
		}
		if pid := e.stored(it.ID, id).ProviderID; pid != vbOutTok {
			t.Fatalf("provider id %q, want %s", pid, vbOutTok)
		}
		e.mustViberPost(fmt.Sprintf(`{"event":"delivered","timestamp":%d,"message_token":%s,"user_id":%q}`, time.Now().UnixMilli(), vbOutTok, vbUser))
		e.waitDelivery(it.ID, id, "delivered")
		e.mustViberPost(fmt.Sprintf(`{"event":"seen","timestamp":%d,"message_token":%s,"user_id":%q}`, time.Now().UnixMilli(), vbOutTok, vbUser))
		e.waitDelivery(it.ID, id, "read")

		// Viber's "failed" callback fails a reply that was only sent.
		f.setStatus(0)
		id3 := e.reply(it.ID, "Still there?")
		e.waitDelivery(it.ID, id3, "sent")
		tok3 := e.stored(it.ID, id3).ProviderID
		if tok3 != "5741311803571721088" {
			t.Fatalf("second reply's token %q", tok3)
		}
		e.mustViberPost(fmt.Sprintf(`{"event":"failed","timestamp":%d,"message_token":%s,"user_id":%q,"desc":"receiver is not subscribed"}`,
			time.Now().UnixMilli(), tok3, vbUser))
		if m := e.waitDelivery(it.ID, id3, "failed"); m.Error != "receiver is not subscribed" {
			t.Fatalf("failed callback error: %q", m.Error)
		}
		if m := e.message(it.ID, id); m.delivery() != "read" {
			t.Fatalf("the first reply changed: %s", m.delivery())
		}
		// A non-zero status worth retrying: retried max_attempts times,
		// then failed with Viber's status_message.
		f.setStatus(12)
		id2 := e.reply(it.ID, "Are you there?")
		m := e.waitDelivery(it.ID, id2, "failed")
		if !strings.Contains(m.Error, "status 12") || !strings.Contains(m.Error, "Too many requests, slow down") {
			t.Fatalf("failure error: %q", m.Error)
		}
		if n := len(f.sent("send_message")); n != 2+3 {
			t.Fatalf("send_message calls: %d, want 2 + 3 attempts", n)
		}
		if n := len(e.messagesOf(it.ID)); n != 4 {
			t.Fatalf("messages: %d", n)
		}

		// `inboxd channels register`: build the channels as the command
		// does and register; the fake checks the URL against the daemon.
		cfg := channelConfig(t, chanDaemon{dbURL: dbURL, publicURL: e.base + "/", channels: o.channels})
		chans, err := daemon.BuildChannels(cfg, adapters.Deps{Logger: slog.New(slog.DiscardHandler), PublicURL: strings.TrimSuffix(cfg.PublicURL, "/")})
		if err != nil {
			t.Fatal(err)
		}
		reg, ok := chans["vb"].(interface {
			RegisterWebhook(context.Context) (string, error)
		})
		if !ok {
			t.Fatal("the viber channel cannot register its webhook")
		}
		u, err := reg.RegisterWebhook(context.Background())
		if err != nil || u != e.base+"/hooks/viber/vb" {
			t.Fatalf("register: %q %v", u, err)
		}
		hooks := f.sent("set_webhook")
		if len(hooks) != 1 || hooks[0].Body["url"] != u || hooks[0].Body["send_name"] != true {
			t.Fatalf("set_webhook: %+v", hooks)
		}
		if n := len(e.journalOf("vb")); n != 1 {
			t.Fatalf("the webhook check created conversations: %d", n)
		}
	})
}

// ------------------------------------------------------------------- Email

// dovecotServer is a real Dovecot on 127.0.0.1 (adapters/email/dovecottest).
type dovecotServer struct{ *dovecottest.Server }

func startDovecotServer(t *testing.T) *dovecotServer {
	return &dovecotServer{dovecottest.Start(t, true)}
}

// deliver appends a mail to INBOX, as a delivery would.
func (d *dovecotServer) deliver(t *testing.T, raw string) { d.Append(t, []byte(raw)) }

// smtpSink is an SMTP server on 127.0.0.1 that keeps what it receives.
type smtpSink struct {
	addr  *net.TCPAddr
	mu    sync.Mutex
	mails [][]byte
	rcpts [][]string
}

func startSMTPSink(t *testing.T) *smtpSink {
	s := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpSink) received() ([][]byte, [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.mails...), append([][]string(nil), s.rcpts...)
}

type sinkSession struct {
	sink *smtpSink
	to   []string
}

func (s *sinkSession) Reset()                                    { s.to = nil }
func (s *sinkSession) Logout() error                             { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, b)
	s.sink.rcpts = append(s.sink.rcpts, s.to)
	s.sink.mu.Unlock()
	return nil
}

func customerMail(id, subject, body string, headers ...string) string {
	h := "From: Maria Rossi <maria@example.net>\nTo: support@example.com\nSubject: " + subject +
		"\nDate: " + time.Now().Format(time.RFC1123Z) + "\nMessage-ID: <" + id + ">\n"
	for _, x := range headers {
		h += x + "\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
}

// dsn is a mailer daemon's report that the mail with Message-ID id
// could not be delivered.
func dsn(id string) string {
	return `Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: support@example.com
Subject: Undelivered Mail Returned to Sender
Date: ` + time.Now().Format(time.RFC1123Z) + `
Message-ID: <dsn-1@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-b"

--dsn-b
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--dsn-b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; maria@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <maria@example.net>: User unknown

--dsn-b
Content-Type: text/rfc822-headers

From: Support mail <support@example.com>
To: maria@example.net
Subject: Re: Order 1042 is late
Message-ID: <` + id + `>

--dsn-b--
`
}

func TestChannelEmail(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		dc := startDovecotServer(t)
		sink := startSMTPSink(t)
		e := startChannels(t, chanDaemon{dbURL: dbURL, channels: fmt.Sprintf(`
  - id: mail
    kind: email
    name: Support mail
    queue: support
    address: support@example.com
    imap: {host: 127.0.0.1, port: %d, tls: none, username: %s, password: %s, poll_interval: 200ms}
    smtp: {host: 127.0.0.1, port: %d, tls: none}
`, dc.Port, dc.Username, dc.Password, sink.addr.Port)}, true)

		// A customer's mail becomes a conversation.
		dc.deliver(t, customerMail("cust-1@example.net", "Order 1042 is late", "Where is my order?"))
		it := e.waitConversation("mail")
		if it.Title != "Maria Rossi: Order 1042 is late" || it.Channel.Kind != "email" {
			t.Fatalf("email conversation: %+v", it)
		}

		// The agent's reply is threaded onto it.
		id := e.reply(it.ID, "It ships today.")
		e.waitDelivery(it.ID, id, "sent")
		mails, rcpts := sink.received()
		if len(mails) != 1 || fmt.Sprint(rcpts[0]) != "[maria@example.net]" {
			t.Fatalf("smtp: %d mails to %v", len(mails), rcpts)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(mails[0]))
		if err != nil {
			t.Fatal(err)
		}
		ourID := e.stored(it.ID, id).ProviderID
		if msg.Header.Get("Message-Id") != "<"+ourID+">" || msg.Header.Get("In-Reply-To") != "<cust-1@example.net>" ||
			!strings.Contains(msg.Header.Get("References"), "<cust-1@example.net>") || msg.Header.Get("Subject") != "Re: Order 1042 is late" {
			t.Fatalf("reply headers: %v (provider id %q)", msg.Header, ourID)
		}

		// The customer's answer names only our Message-ID: same conversation.
		dc.deliver(t, customerMail("cust-2@example.net", "Re: Order 1042 is late", "Thanks!",
			"In-Reply-To: <"+ourID+">", "References: <"+ourID+">"))
		waitUntil(t, "the customer's answer", func() bool { return len(e.messagesOf(it.ID)) == 3 })

		// An out-of-office reply lands flagged.
		dc.deliver(t, customerMail("ooo-1@example.net", "Automatic reply: Order 1042 is late", "I am away until Monday.",
			"Auto-Submitted: auto-replied", "In-Reply-To: <"+ourID+">", "References: <"+ourID+">"))
		var ms []msgView
		waitUntil(t, "the auto-reply", func() bool { ms = e.messagesOf(it.ID); return len(ms) == 4 })
		if ms[2].Text != "Thanks!" || ms[2].Auto || ms[3].Text != "I am away until Monday." || !ms[3].Auto {
			t.Fatalf("messages: %+v", ms)
		}
		// A bounce of a second reply marks it failed with the reason.
		id2 := e.reply(it.ID, "Did it arrive?")
		e.waitDelivery(it.ID, id2, "sent")
		dc.deliver(t, dsn(e.stored(it.ID, id2).ProviderID))
		m := e.waitDelivery(it.ID, id2, "failed")
		if !strings.Contains(m.Error, "550 5.1.1") {
			t.Fatalf("bounce error: %q", m.Error)
		}
		waitUntil(t, "the bounce message", func() bool { ms = e.messagesOf(it.ID); return len(ms) == 6 })
		if !ms[5].Auto {
			t.Fatalf("bounce not flagged auto: %+v", ms[5])
		}
		if n := len(e.journalOf("mail")); n != 1 {
			t.Fatalf("%d email conversations, want 1", n)
		}
		if st, rd := e.readyz(); st != 200 || rd.Checks["channel:mail"] != "ok" {
			t.Fatalf("readyz: %d %+v", st, rd)
		}
	})
}

// ------------------------------------------------------------------ SSRF

// TestChannelAttachmentURLsFromPayloads: Meta and Viber attachments are
// fetched from the URL a signed payload names. A payload naming an
// internal server (here http://127.0.0.1) must not turn the attachment
// download into a way to read it: the API answers 403 with the error
// envelope, and the internal server is never reached. With
// allow_private_fetch (tests, a private proxy) the same download works.
func TestChannelAttachmentURLsFromPayloads(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		var hits atomic.Int32
		internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "INTERNAL-ADMIN-PAGE")
		}))
		t.Cleanup(internal.Close)
		g := newGraphFake(t)
		e := startChannels(t, chanDaemon{dbURL: dbURL, channels: fmt.Sprintf(`
  - {id: fb, kind: messenger, queue: support, page_id: %[1]q, page_access_token: %[2]q, app_secret: %[3]q, verify_token: %[4]q, api_base_url: %[5]q}
  - {id: fbp, kind: messenger, queue: support, page_id: %[1]q, page_access_token: %[2]q, app_secret: %[3]q, verify_token: %[4]q, api_base_url: %[5]q, allow_private_fetch: true}
  - {id: vb, kind: viber, queue: support, auth_token: %[6]q, sender_name: Shop, api_base_url: "http://127.0.0.1:1"}
  - {id: vbp, kind: viber, queue: support, auth_token: %[6]q, sender_name: Shop, api_base_url: "http://127.0.0.1:1", allow_private_fetch: true}
`, fbPage, fbToken, fbSecret, fbVerify, g.URL, vbToken)}, true)

		target := internal.URL + "/admin/secret.txt"
		fb := fbEvent(fbFromCustomer(fmt.Sprintf(`"message":{"mid":"m_ssrf","attachments":[{"type":"file","payload":{"url":%q}}]}`, target)))
		vb := fmt.Sprintf(`{"event":"message","timestamp":%d,"message_token":4242,"sender":{"id":%q,"name":"Eve"},`+
			`"message":{"type":"file","media":%q,"file_name":"secret.txt","size":19}}`, time.Now().UnixMilli(), vbUser, target)
		e.mustMetaPost("/hooks/meta/fb", fbSecret, fb)
		e.mustMetaPost("/hooks/meta/fbp", fbSecret, fb)
		for _, path := range []string{"/hooks/viber/vb", "/hooks/viber/vbp"} {
			if st, b := e.hookPost(path, []byte(vb), map[string]string{"X-Viber-Content-Signature": hooksig.Sign([]byte(vbToken), []byte(vb))}); st != 200 {
				t.Fatalf("%s: %d %s", path, st, b)
			}
		}

		download := func(channel string) (int, []byte) {
			it := e.waitConversation(channel)
			ms := e.messagesOf(it.ID)
			if len(ms) != 1 || len(ms[0].Attachments) != 1 {
				t.Fatalf("%s: messages %+v", channel, ms)
			}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/attachments/%d", e.base, ms[0].Attachments[0].ID), nil)
			req.Header.Set("Authorization", "Bearer "+e.owner)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		for _, ch := range []string{"fb", "vb"} {
			st, b := download(ch)
			var eb struct {
				Error struct{ Code, Message string }
			}
			if st != http.StatusForbidden || json.Unmarshal(b, &eb) != nil || eb.Error.Code != "forbidden" || eb.Error.Message == "" {
				t.Errorf("%s: attachment at an internal URL: %d %s, want 403 forbidden", ch, st, b)
			}
			if bytes.Contains(b, []byte("INTERNAL-ADMIN-PAGE")) || bytes.Contains(b, []byte(internal.URL)) {
				t.Errorf("%s: the answer shows the internal server: %s", ch, b)
			}
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the internal server was reached %d times", n)
		}
		for _, ch := range []string{"fbp", "vbp"} {
			if st, b := download(ch); st != 200 || string(b) != "INTERNAL-ADMIN-PAGE" {
				t.Errorf("%s (allow_private_fetch): %d %q", ch, st, b)
			}
		}
		if n := hits.Load(); n != 2 {
			t.Fatalf("allowed downloads reached the server %d times, want 2", n)
		}
	})
}
