package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

const testToken = "123456:TEST-token_abc"

// fakeBot is a Bot API server on 127.0.0.1 that speaks the documented JSON
// (https://core.telegram.org/bots/api): getMe, getUpdates with offset
// semantics, sendMessage, setWebhook, deleteWebhook, getFile and file
// downloads, plus injected 429s and 409 conflicts.
type fakeBot struct {
	t   testing.TB
	srv *httptest.Server

	mu sync.Mutex
	// updates not yet confirmed, ascending by update_id.
	updates   []fakeUpdate
	newUpdate chan struct{} // closed when an update is added
	offsets   []int         // offset of every getUpdates call (0: none)
	conflict  bool
	sent      []sentMessage
	sendCalls int
	// sendFail answers the n-th sendMessage call (1-based) with a failure.
	sendFail  map[int]fakeFailure
	webhooks  []map[string]any
	setHookOK bool
	hookFail  *fakeFailure
	files     map[string]fakeFile
	downloads []string
}

type fakeUpdate struct {
	id  int
	raw json.RawMessage
}

type sentMessage struct {
	ChatID int64
	Text   string
	At     time.Time
}

type fakeFailure struct {
	status     int
	desc       string
	retryAfter int
}

type fakeFile struct {
	path  string
	data  []byte
	ctype string
}

func newFakeBot(t testing.TB) *fakeBot {
	f := &fakeBot{t: t, newUpdate: make(chan struct{}), sendFail: map[int]fakeFailure{}, files: map[string]fakeFile{}, setHookOK: true}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// push adds updates (raw JSON with their update_id) to the queue.
func (f *fakeBot) push(raws ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, raw := range raws {
		var u struct {
			UpdateID int `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &u); err != nil {
			f.t.Fatalf("fake: bad update: %v", err)
		}
		f.updates = append(f.updates, fakeUpdate{u.UpdateID, raw})
	}
	close(f.newUpdate)
	f.newUpdate = make(chan struct{})
}

func (f *fakeBot) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.updates)
}

func (f *fakeBot) requestedOffsets() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.offsets...)
}

func (f *fakeBot) setConflict(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conflict = v
}

func (f *fakeBot) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeBot) failSend(call int, fl fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendFail[call] = fl
}

func (f *fakeBot) registeredWebhooks() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.webhooks...)
}

func (f *fakeBot) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+testToken+"/"); ok {
		f.serveFile(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
	if !ok {
		// What Telegram answers to an unknown or revoked token.
		apiFail(w, fakeFailure{status: 401, desc: "Unauthorized"})
		return
	}
	params := map[string]any{}
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			apiFail(w, fakeFailure{status: 400, desc: "Bad Request: fake speaks JSON only, got " + ct})
			return
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&params); err != nil {
			apiFail(w, fakeFailure{status: 400, desc: "Bad Request: " + err.Error()})
			return
		}
	}
	switch rest {
	case "getMe":
		apiOK(w, map[string]any{"id": 999, "is_bot": true, "first_name": "Acme", "username": "acme_bot"})
	case "deleteWebhook":
		apiOK(w, true)
	case "getUpdates":
		f.getUpdates(w, r, params)
	case "sendMessage":
		f.sendMessage(w, params)
	case "setWebhook":
		f.mu.Lock()
		fail := f.hookFail
		if fail == nil {
			f.webhooks = append(f.webhooks, params)
		}
		f.mu.Unlock()
		if fail != nil {
			apiFail(w, *fail)
			return
		}
		apiOK(w, true)
	case "getFile":
		id, _ := params["file_id"].(string)
		f.mu.Lock()
		file, ok := f.files[id]
		f.mu.Unlock()
		if !ok {
			apiFail(w, fakeFailure{status: 400, desc: "Bad Request: invalid file_id"})
			return
		}
		apiOK(w, map[string]any{"file_id": id, "file_unique_id": "u-" + id, "file_size": len(file.data), "file_path": file.path})
	default:
		apiFail(w, fakeFailure{status: 404, desc: "Not Found"})
	}
}

// getUpdates confirms every update below offset, then returns the pending
// ones from offset on, waiting up to timeout seconds when there are none.
func (f *fakeBot) getUpdates(w http.ResponseWriter, r *http.Request, params map[string]any) {
	offset := intParam(params, "offset")
	timeout := intParam(params, "timeout")
	limit := intParam(params, "limit")
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.After(time.Duration(timeout) * time.Second)
	for {
		f.mu.Lock()
		f.offsets = append(f.offsets, offset)
		if f.conflict {
			f.mu.Unlock()
			apiFail(w, fakeFailure{status: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
			return
		}
		if offset > 0 {
			kept := f.updates[:0]
			for _, u := range f.updates {
				if u.id >= offset {
					kept = append(kept, u)
				}
			}
			f.updates = kept
		}
		var out []json.RawMessage
		for _, u := range f.updates {
			if len(out) < limit {
				out = append(out, u.raw)
			}
		}
		wake := f.newUpdate
		f.mu.Unlock()
		if len(out) > 0 || timeout == 0 {
			if out == nil {
				out = []json.RawMessage{}
			}
			apiOK(w, out)
			return
		}
		select {
		case <-wake:
			f.mu.Lock()
			f.offsets = f.offsets[:len(f.offsets)-1] // one call, not two
			f.mu.Unlock()
		case <-deadline:
			apiOK(w, []json.RawMessage{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeBot) sendMessage(w http.ResponseWriter, params map[string]any) {
	f.mu.Lock()
	f.sendCalls++
	fail, failing := f.sendFail[f.sendCalls]
	f.mu.Unlock()
	if failing {
		apiFail(w, fail)
		return
	}
	chat, err := params["chat_id"].(json.Number).Int64()
	if err != nil {
		apiFail(w, fakeFailure{status: 400, desc: "Bad Request: chat not found"})
		return
	}
	text, _ := params["text"].(string)
	if text == "" {
		apiFail(w, fakeFailure{status: 400, desc: "Bad Request: message text is empty"})
		return
	}
	if utf16Len(text) > 4096 {
		apiFail(w, fakeFailure{status: 400, desc: "Bad Request: message is too long"})
		return
	}
	f.mu.Lock()
	f.sent = append(f.sent, sentMessage{ChatID: chat, Text: text, At: time.Now()})
	id := len(f.sent)
	f.mu.Unlock()
	apiOK(w, map[string]any{"message_id": id, "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": chat, "type": "private"}})
}

func (f *fakeBot) serveFile(w http.ResponseWriter, path string) {
	f.mu.Lock()
	f.downloads = append(f.downloads, path)
	var found *fakeFile
	for _, file := range f.files {
		if file.path == path {
			found = &file
		}
	}
	f.mu.Unlock()
	if found == nil {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", found.ctype)
	w.Write(found.data)
}

func intParam(p map[string]any, k string) int {
	n, ok := p[k].(json.Number)
	if !ok {
		return 0
	}
	v, _ := n.Int64()
	return int(v)
}

func apiOK(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func apiFail(w http.ResponseWriter, fl fakeFailure) {
	body := map[string]any{"ok": false, "error_code": fl.status, "description": fl.desc}
	if fl.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": fl.retryAfter}
		w.Header().Set("Retry-After", fmt.Sprint(fl.retryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(fl.status)
	json.NewEncoder(w).Encode(body)
}

// syncBuffer collects log output from several goroutines.
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

// yamlDecoder is what cmd/inboxd hands a factory: the channel's entry,
// decoded strictly.
func yamlDecoder(entry map[string]any) func(any) error {
	return func(into any) error {
		b, err := yaml.Marshal(entry)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		return dec.Decode(into)
	}
}

type testEnv struct {
	ch   *Channel
	logs *syncBuffer
}

// newTestChannel builds a channel "tg" against the fake with fast backoff
// and a negligible per-chat interval; entry adds or overrides config keys.
// At cleanup it checks that no log line holds the token or the secret.
func newTestChannel(t *testing.T, fake *fakeBot, ing inbox.Ingester, entry map[string]any) testEnv {
	t.Helper()
	cfg := map[string]any{"token": testToken, "api_base_url": fake.srv.URL, "poll_timeout": 1}
	for k, v := range entry {
		cfg[k] = v
	}
	logs := &syncBuffer{}
	ch, err := newChannel(adapters.Config{ID: "tg", Kind: Kind, Name: "Telegram", Queue: "support", Decode: yamlDecoder(cfg)},
		adapters.Deps{Ingest: ing, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			PublicURL: "https://inbox.example.com", HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ch.backoffMin, ch.backoffMax = 10*time.Millisecond, 50*time.Millisecond
	ch.chatInterval = time.Millisecond
	t.Cleanup(func() {
		out := logs.String()
		if strings.Contains(out, testToken) || strings.Contains(out, "TEST-token") {
			t.Errorf("the bot token appears in the logs:\n%s", out)
		}
		if s, ok := cfg["secret"].(string); ok && s != "" && strings.Contains(out, s) {
			t.Errorf("the webhook secret appears in the logs")
		}
	})
	return testEnv{ch: ch, logs: logs}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readAllString(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
