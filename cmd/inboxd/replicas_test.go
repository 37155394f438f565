package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// fakeBot is one logical Telegram Bot API (getUpdates with offset
// semantics) reachable at two addresses, one per replica, so the test can
// tell which replica polls.
type fakeBot struct {
	mu      sync.Mutex
	updates []string // JSON updates, update_id = index+1
	confirm int      // updates below this offset are confirmed
	polls   map[string]int
}

func (b *fakeBot) handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "getMe":
			fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Bot","username":"bot"}}`)
		case "deleteWebhook":
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		case "getUpdates":
			r.ParseForm()
			var off int
			fmt.Sscan(r.Form.Get("offset"), &off)
			if off == 0 {
				var body struct{ Offset int }
				json.NewDecoder(r.Body).Decode(&body)
				off = body.Offset
			}
			b.mu.Lock()
			b.polls[name]++
			if off > b.confirm {
				b.confirm = off
			}
			var out []string
			for i := max(b.confirm, 1); i <= len(b.updates); i++ {
				out = append(out, b.updates[i-1])
			}
			b.mu.Unlock()
			if len(out) == 0 {
				time.Sleep(200 * time.Millisecond) // a short long poll
			}
			fmt.Fprintf(w, `{"ok":true,"result":[%s]}`, strings.Join(out, ","))
		default:
			fmt.Fprint(w, `{"ok":true,"result":{}}`)
		}
	})
}

func (b *fakeBot) add(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := len(b.updates) + 1
	b.updates = append(b.updates, fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1700000000,`+
		`"chat":{"id":%d,"type":"private","username":"user%d"},"from":{"id":%d,"is_bot":false,"first_name":"U","username":"user%d"},"text":%q}}`,
		id, id, 100+id%3, id%3, 100+id%3, id%3, text))
}

func (b *fakeBot) pollsBy(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.polls[name]
}

type replica struct {
	name string
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestReplicas starts two inboxd processes on one PostgreSQL database.
func TestReplicas(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the replica test", storetest.PostgresEnv)
		}
		t.Skipf("%s is not set; the replica test needs PostgreSQL", storetest.PostgresEnv)
	}
	dbURL := storetest.URL(t, store.Postgres)
	dir := t.TempDir()
	bin := filepath.Join(dir, "inboxd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bot := &fakeBot{polls: map[string]int{}}
	fakes := map[string]*httptest.Server{"a": httptest.NewServer(bot.handler("a")), "b": httptest.NewServer(bot.handler("b"))}
	defer fakes["a"].Close()
	defer fakes["b"].Close()
	cfg := filepath.Join(dir, "inboxd.yaml")
	os.WriteFile(cfg, []byte(`
listen: ${LISTEN}
database: {url: "${DB}"}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: replica-secret-0123456789}
  - {id: tg, kind: telegram, queue: support, token: "123:ABC", mode: polling, poll_timeout: 1, api_base_url: "${TG}"}
`), 0o600)
	start := func(name string) *replica {
		addr := freePort(t)
		r := &replica{name: name, base: "http://" + addr, log: &bytes.Buffer{}}
		r.cmd = exec.Command(bin, "serve", "--config", cfg)
		r.cmd.Env = append(os.Environ(), "LISTEN="+addr, "DB="+dbURL, "TG="+fakes[name].URL, "INBOXD_LOG_LEVEL=info")
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.cmd.Process.Kill(); r.cmd.Wait() })
		deadline := time.Now().Add(20 * time.Second)
		for {
			if resp, err := http.Get(r.base + "/healthz"); err == nil {
				resp.Body.Close()
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s did not start:\n%s", name, r.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	a := start("a")
	waitUntil(t, "replica a polls", func() bool { return bot.pollsBy("a") > 0 })
	b := start("b")
	token := login(t, b.base)

	// Watch the journal feed on b while sending through a.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seen := make(chan string, 100)
	go watchFeed(ctx, b.base, token, seen)
	time.Sleep(300 * time.Millisecond)
	body := []byte(`{"message_id":"r1","contact":{"id":"c1","name":"Rita"},"text":"through replica a"}`)
	req, _ := http.NewRequest("POST", a.base+"/hooks/webhook/crm", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", "sha256="+hooksig.Sign([]byte("replica-secret-0123456789"), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("post to a: %v %v", err, resp)
	}
	resp.Body.Close()
	select {
	case kind := <-seen:
		if kind != "conversation.created" {
			t.Fatalf("first event on b: %s", kind)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("replica b's feed did not receive replica a's event")
	}

	// Only a polls; b waits for the lock.
	bot.add("u1")
	bot.add("u2")
	waitUntil(t, "updates 1-2 stored", func() bool { return countTelegram(t, b.base, token) == 2 })
	pollsB := bot.pollsBy("b")
	if pollsB != 0 {
		t.Fatalf("replica b polled %d times while a held the lock", pollsB)
	}
	// SIGKILL a: b takes over polling within seconds; nothing lost or doubled.
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	killed := time.Now()
	bot.add("u3")
	waitUntil(t, "replica b polls", func() bool { return bot.pollsBy("b") > 0 })
	t.Logf("poller moved to replica b %s after SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	bot.add("u4")
	waitUntil(t, "updates 1-4 stored once", func() bool { return countTelegram(t, b.base, token) == 4 })
	time.Sleep(500 * time.Millisecond)
	if n := countTelegram(t, b.base, token); n != 4 {
		t.Fatalf("%d telegram messages, want exactly 4", n)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func login(t *testing.T, base string) string {
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"owner@example.com","password":"owner-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&out)
	if out.Token == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return out.Token
}

func watchFeed(ctx context.Context, base, token string, seen chan<- string) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/journal/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			seen <- v
		}
	}
}

// countTelegram counts the stored messages of the telegram channel.
func countTelegram(t *testing.T, base, token string) int {
	req, _ := http.NewRequest("GET", base+"/api/v1/journal?channel=tg&limit=200", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Items []struct{ ID int64 } }
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	n := 0
	for _, it := range p.Items {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/conversations/%d/messages?limit=200", base, it.ID), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ms struct{ Items []any }
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		json.Unmarshal(b, &ms)
		n += len(ms.Items)
	}
	return n
}
