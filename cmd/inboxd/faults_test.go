package main

// Process-level fault tests: the built binary is killed, its PostgreSQL
// is stopped under it, its callback receiver fails, its data_dir cannot
// be written and its disk fills up. Every test is bounded in time and
// talks to 127.0.0.1 only. The figures each test logs (acknowledged,
// stored, duplicated, recovery time) are the ones docs/SECURITY.md quotes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

const faultSecret = "fault-secret-0123456789"

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// inboxdBinary builds the daemon once for all the fault tests.
func inboxdBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "inboxd-faults-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "inboxd")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is one running inboxd process.
type proc struct {
	cmd    *exec.Cmd
	base   string
	log    *lockedBuffer
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// spawn starts `inboxd serve --config cfg` (argv may prefix a wrapper such
// as prlimit) without waiting for it to serve.
func spawn(t *testing.T, argv []string, cfg string, env ...string) *proc {
	t.Helper()
	args := append(append([]string(nil), argv[1:]...), "serve", "--config", cfg)
	p := &proc{log: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], args...)
	p.cmd.Env = append(os.Environ(), append([]string{"INBOXD_LOG_LEVEL=info"}, env...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("inboxd output:\n%s", tail(p.log.String(), 4000))
		}
	})
	return p
}

// serveOn starts inboxd listening on addr and waits until /healthz answers.
func serveOn(t *testing.T, argv []string, cfg, addr string, env ...string) *proc {
	t.Helper()
	p := spawn(t, argv, cfg, append([]string{"LISTEN=" + addr}, env...)...)
	p.base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("inboxd exited at start (%v):\n%s", p.err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("inboxd did not start:\n%s", p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) sigkill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *proc) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("inboxd did not stop on SIGTERM:\n%s", p.log)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "inboxd.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- the callback receiver ----------------------------------------------

// receiver is a webhook channel's callback_url. Its mode says how it
// answers; it counts attempts and successful deliveries per
// X-Inboxd-Delivery id (a success is a 2xx the daemon actually received).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	mode     string // ok | fail (500) | slow (hangs until the client gives up) | limited (429, Retry-After: 1)
	attempts map[string][]time.Time
	answered map[string][]int
	ok       map[string]int
	badSig   int
}

func newReceiver(t *testing.T, mode string) *receiver {
	rc := &receiver{mode: mode, attempts: map[string][]time.Time{}, answered: map[string][]int{}, ok: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("X-Inboxd-Delivery")
		rc.mu.Lock()
		mode := rc.mode
		if !hooksig.Verify([]byte(faultSecret), body, r.Header.Get("X-Inboxd-Signature"), "sha256=") {
			rc.badSig++
		}
		rc.attempts[id] = append(rc.attempts[id], time.Now())
		rc.mu.Unlock()
		status := 0
		switch mode {
		case "ok":
			status = 200
		case "fail":
			status = 500
		case "limited":
			w.Header().Set("Retry-After", "1")
			status = 429
		case "slow":
			// Hold the request until the daemon's client gives up: it is
			// never answered, so it is never a delivery.
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			rc.mu.Lock()
			rc.answered[id] = append(rc.answered[id], 0)
			rc.mu.Unlock()
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"id":"ext-%s"}`, id)
		rc.mu.Lock()
		rc.answered[id] = append(rc.answered[id], status)
		if status == 200 {
			rc.ok[id]++
		}
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setMode(m string) { rc.mu.Lock(); rc.mode = m; rc.mu.Unlock() }

func (rc *receiver) tries(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.attempts[id])
}

func (rc *receiver) delivered(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.ok[id]
}

// ---- the ingest load ---------------------------------------------------

// load is several webhook senders that retry every message until it is
// acknowledged with a 2xx, as a provider does.
type ingestLoad struct {
	base    func() string
	channel string
	mu      sync.Mutex
	acked   map[string]bool
	dupAcks int            // 2xx answers with duplicate: true (stored before, answer lost)
	status  map[string]int // answers by status ("conn" for transport errors)
	answers []answer       // every answer, for the outage check
	prefix  string
	wg      sync.WaitGroup
	done    atomic.Int64
	stopped atomic.Bool
}

type answer struct {
	sent, got time.Time
	status    int
}

func newLoad(base func() string, channel string) *ingestLoad {
	return &ingestLoad{base: base, channel: channel, acked: map[string]bool{}, status: map[string]int{}}
}

var loadClient = &http.Client{Timeout: 10 * time.Second}

// start runs senders goroutines, each sending perSender messages.
func (l *ingestLoad) start(prefix string, senders, perSender int) {
	l.prefix = prefix
	for g := range senders {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := range perSender {
				id := fmt.Sprintf("%s%d-%d", prefix, g, i)
				body := fmt.Sprintf(`{"message_id":%q,"contact":{"id":"%s%d-%d","name":"Load %d"},"text":%q}`,
					id, prefix, g, i%4, g, "msg "+id)
				for !l.stopped.Load() && !l.post(id, []byte(body)) {
					time.Sleep(20 * time.Millisecond)
				}
				l.done.Add(1)
			}
		}()
	}
}

// post sends one message once; true when it was acknowledged.
func (l *ingestLoad) post(id string, body []byte) bool {
	req, _ := http.NewRequest("POST", l.base()+"/hooks/webhook/"+l.channel, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", "sha256="+hooksig.Sign([]byte(faultSecret), body))
	sent := time.Now()
	resp, err := loadClient.Do(req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.status["conn"]++
		return false
	}
	var r struct{ Duplicate bool }
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	l.status[strconv.Itoa(resp.StatusCode)]++
	l.answers = append(l.answers, answer{sent: sent, got: time.Now(), status: resp.StatusCode})
	if resp.StatusCode/100 != 2 {
		return false
	}
	l.acked[id] = true
	if r.Duplicate {
		l.dupAcks++
	}
	return true
}

func (l *ingestLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ingestLoad) wait(t *testing.T, within time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { l.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(within):
		l.stopped.Store(true)
		<-ch
		t.Fatalf("the senders did not finish within %s (answers: %v)", within, l.status)
	}
}

// ---- checks through the API --------------------------------------------

func apiGet(t *testing.T, base, token, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := loadClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %.200s", path, err, b)
		}
	}
	return resp.StatusCode
}

type apiMessage struct {
	ID        int64
	Direction string
	Text      string
	Delivery  *string
	Error     string
}

// storedInbound counts the inbound messages of a channel by text, paging
// through the journal and every conversation.
func storedInbound(t *testing.T, base, token, channel string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, conv := range conversationsOf(t, base, token, channel) {
		for _, m := range messagesOf(t, base, token, conv) {
			if m.Direction == "in" {
				counts[m.Text]++
			}
		}
	}
	return counts
}

func conversationsOf(t *testing.T, base, token, channel string) []int64 {
	t.Helper()
	var ids []int64
	cursor := ""
	for {
		var p struct {
			Items      []struct{ ID int64 }
			NextCursor string `json:"next_cursor"`
		}
		if st := apiGet(t, base, token, "/api/v1/journal?limit=100&channel="+channel+"&cursor="+cursor, &p); st != 200 {
			t.Fatalf("journal: %d", st)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
}

func messagesOf(t *testing.T, base, token string, conv int64) []apiMessage {
	t.Helper()
	var out []apiMessage
	cursor := ""
	for {
		var p struct {
			Items      []apiMessage
			NextCursor string `json:"next_cursor"`
		}
		if st := apiGet(t, base, token, fmt.Sprintf("/api/v1/conversations/%d/messages?limit=100&cursor=%s", conv, cursor), &p); st != 200 {
			t.Fatalf("messages of %d: %d", conv, st)
		}
		out = append(out, p.Items...)
		if cursor = p.NextCursor; cursor == "" {
			return out
		}
	}
}

// checkExactlyOnce asserts every acknowledged message is stored exactly
// once and nothing is stored twice; it returns (acknowledged, stored,
// duplicated).
func checkExactlyOnce(t *testing.T, l *ingestLoad, base, token string) (int, int, int) {
	t.Helper()
	counts := storedInbound(t, base, token, l.channel)
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, dups := 0, 0
	for id := range l.acked {
		if counts["msg "+id] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged message %s is not stored", id)
			}
		}
	}
	stored := 0
	for text, n := range counts {
		if strings.HasPrefix(text, "msg "+l.prefix) {
			stored++
		}
		if n > 1 {
			dups += n - 1
			t.Errorf("%q is stored %d times", text, n)
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged messages lost", lost)
	}
	return len(l.acked), stored, dups
}

// reply posts an agent's reply and returns its message id.
func reply(t *testing.T, base, token string, conv int64, text string) int64 {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"text": text})
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/conversations/%d/messages", base, conv), bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := loadClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ ID int64 }
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &m)
	if resp.StatusCode != 201 || m.ID == 0 {
		t.Fatalf("reply: %d %s", resp.StatusCode, raw)
	}
	return m.ID
}

// postOnce sends one signed webhook message and returns the answer.
func postOnce(t *testing.T, base, channel, id, contact string) (int, int64) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"message_id":%q,"contact":{"id":%q,"name":"C %s"},"text":"msg %s"}`, id, contact, contact, id))
	req, _ := http.NewRequest("POST", base+"/hooks/webhook/"+channel, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", "sha256="+hooksig.Sign([]byte(faultSecret), body))
	resp, err := loadClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var r struct {
		ConversationID int64 `json:"conversation_id"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r.ConversationID
}

// deliveryOf returns the delivery state of reply msg in conversation conv.
func deliveryOf(t *testing.T, base, token string, conv, msg int64) (string, string) {
	for _, m := range messagesOf(t, base, token, conv) {
		if m.ID == msg && m.Delivery != nil {
			return *m.Delivery, m.Error
		}
	}
	return "", ""
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func requirePostgres(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL fault tests", storetest.PostgresEnv)
		}
		t.Skipf("%s is not set; skipping the PostgreSQL run", storetest.PostgresEnv)
	}
}

// ---- SIGKILL during ingest ---------------------------------------------

// TestFaultSIGKILLDuringIngest kills the daemon with SIGKILL while four
// senders push webhooks and replies wait in the outbox (the callback
// fails), restarts it on the same database, and checks that every
// acknowledged message is stored exactly once and every pending reply is
// delivered exactly once.
func TestFaultSIGKILLDuringIngest(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == store.Postgres {
				requirePostgres(t)
			}
			sigkillDuringIngest(t, storetest.URL(t, d))
		})
	}
}

func sigkillDuringIngest(t *testing.T, dbURL string) {
	bin := inboxdBinary(t)
	dir := t.TempDir()
	rc := newReceiver(t, "fail")
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: ${LISTEN}
data_dir: %s
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
outbox: {base_delay: 100ms, max_delay: 300ms, max_attempts: 1000}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %s, callback_url: %q}
`, dir, dbURL, faultSecret, rc.URL))
	addr := freePort(t)
	p := serveOn(t, []string{bin}, cfg, addr)
	token := login(t, p.base)

	// Replies pending in the outbox: the callback answers 500 until after
	// the restart.
	type pending struct{ conv, msg int64 }
	var replies []pending
	for i := range 6 {
		st, conv := postOnce(t, p.base, "crm", fmt.Sprintf("r%d", i), fmt.Sprintf("rc%d", i))
		if st != 202 {
			t.Fatalf("seed message: %d", st)
		}
		replies = append(replies, pending{conv, reply(t, p.base, token, conv, fmt.Sprintf("reply %d", i))})
	}
	waitFor(t, "every reply was tried and failed", 10*time.Second, func() bool {
		for _, r := range replies {
			if rc.tries(strconv.FormatInt(r.msg, 10)) == 0 {
				return false
			}
		}
		return true
	})

	var cur atomic.Value
	cur.Store(p.base)
	l := newLoad(func() string { return cur.Load().(string) }, "crm")
	l.start("k", 4, 250)
	waitFor(t, "150 messages acknowledged", 30*time.Second, func() bool { return l.ackedCount() >= 150 })
	p.sigkill()
	atKill := l.ackedCount()
	killed := time.Now()
	time.Sleep(300 * time.Millisecond) // the senders meet a dead port
	rc.setMode("ok")
	p2 := serveOn(t, []string{bin}, cfg, addr)
	t.Logf("restarted %s after SIGKILL; %d messages acknowledged at the kill", time.Since(killed).Round(time.Millisecond), atKill)
	l.wait(t, 90*time.Second)

	acked, stored, dups := checkExactlyOnce(t, l, p2.base, login(t, p2.base))
	if acked != 1000 {
		t.Errorf("%d messages acknowledged, want all 1000", acked)
	}
	t.Logf("ingest: %d acknowledged, %d stored, %d duplicated; %d retries answered duplicate:true; answers %v",
		acked, stored, dups, l.dupAcks, l.status)

	// Every pending reply is delivered exactly once after the restart.
	waitFor(t, "the pending replies are sent", 20*time.Second, func() bool {
		for _, r := range replies {
			if st, _ := deliveryOf(t, p2.base, token, r.conv, r.msg); st != "sent" {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // a second delivery would show up now
	for _, r := range replies {
		id := strconv.FormatInt(r.msg, 10)
		if n := rc.delivered(id); n != 1 {
			t.Errorf("reply %s delivered %d times, want exactly 1 (attempts %d)", id, n, rc.tries(id))
		}
	}
	if rc.badSig > 0 {
		t.Errorf("%d callbacks with a wrong signature", rc.badSig)
	}
	t.Logf("outbox: %d replies pending at the kill, each delivered exactly once after the restart", len(replies))
}

// ---- PostgreSQL outage -------------------------------------------------

// privatePG is a PostgreSQL cluster of the test's own, on a free port, so
// that stopping it touches nobody else's server.
type privatePG struct {
	t      *testing.T
	bin    string
	dir    string
	port   string
	asUser []string
}

func newPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl) are missing: CI must install postgresql")
		}
		t.Skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl) are absent; install postgresql to run the outage test")
	}
	sort.Strings(bins)
	pg := &privatePG{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "inboxd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	t.Cleanup(func() {
		pg.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	// PostgreSQL refuses to run as root: run it as postgres, in a folder
	// that user owns.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	_, port, _ := net.SplitHostPort(freePort(t))
	pg.port = port
	if out, err := pg.run("initdb", "-D", pg.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	return pg
}

func (pg *privatePG) data() string { return filepath.Join(pg.dir, "data") }

func (pg *privatePG) url() string {
	return "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
}

func (pg *privatePG) run(name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string(nil), pg.asUser...), filepath.Join(pg.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = pg.dir
	return cmd.CombinedOutput()
}

func (pg *privatePG) ctl(args ...string) ([]byte, error) {
	return pg.run("pg_ctl", append([]string{"-D", pg.data(), "-w", "-t", "30"}, args...)...)
}

func (pg *privatePG) start() {
	pg.t.Helper()
	opts := fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", pg.port, pg.dir)
	if out, err := pg.ctl("start", "-o", opts, "-l", filepath.Join(pg.dir, "log")); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		pg.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (pg *privatePG) stopImmediate() {
	pg.t.Helper()
	if out, err := pg.ctl("stop", "-m", "immediate"); err != nil {
		pg.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// TestFaultPostgresOutage stops the daemon's PostgreSQL (immediately, as
// a crash) during ingest and while a Telegram bot has updates waiting:
// webhooks answer 503, never 2xx; /readyz answers 503; the poller does
// not move its offset past what is stored. PostgreSQL comes back; the
// daemon recovers by itself within 5 s and nothing is lost or doubled.
func TestFaultPostgresOutage(t *testing.T) {
	pg := newPrivatePG(t)
	pg.start()
	bin := inboxdBinary(t)
	dir := t.TempDir()
	bot := &fakeBot{polls: map[string]int{}}
	tg := httptest.NewServer(bot.handler("a"))
	defer tg.Close()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: ${LISTEN}
data_dir: %s
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %s}
  - {id: tg, kind: telegram, queue: support, token: "123:ABC", mode: polling, poll_timeout: 1, api_base_url: %q}
`, dir, pg.url(), faultSecret, tg.URL))
	p := serveOn(t, []string{bin}, cfg, freePort(t))
	token := login(t, p.base)
	for i := range 3 {
		bot.add(fmt.Sprintf("before %d", i))
	}
	waitFor(t, "the first updates are stored", 20*time.Second, func() bool { return countTelegram(t, p.base, token) == 3 })

	l := newLoad(func() string { return p.base }, "crm")
	l.start("o", 4, 300)
	waitFor(t, "100 messages acknowledged", 30*time.Second, func() bool { return l.ackedCount() >= 100 })
	pg.stopImmediate()
	down := time.Now()
	atStop := l.ackedCount()
	for i := range 3 {
		bot.add(fmt.Sprintf("during %d", i))
	}
	// /readyz must notice within its own check timeout.
	waitFor(t, "/readyz answers 503", 5*time.Second, func() bool { return apiGet(t, p.base, "", "/readyz", nil) == 503 })
	time.Sleep(2 * time.Second) // a sustained outage: the senders keep retrying
	if st := apiGet(t, p.base, "", "/readyz", nil); st != 503 {
		t.Errorf("/readyz during the outage: %d, want 503", st)
	}
	upAt := time.Now()
	pg.start()
	restarted := time.Now()
	// Recovery: the first moment a new message is stored and /readyz is ok.
	var recovery time.Duration
	probe := 0
	for {
		probe++
		st, _ := postOnce(t, p.base, "crm", fmt.Sprintf("probe-%d", probe), "prober")
		if st == 202 && apiGet(t, p.base, "", "/readyz", nil) == 200 {
			recovery = time.Since(restarted)
			break
		}
		if time.Since(restarted) > 15*time.Second {
			t.Fatalf("not recovered 15 s after PostgreSQL came back (last webhook answer %d)", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("recovered %s after PostgreSQL accepted connections again (outage %s)", recovery.Round(time.Millisecond), upAt.Sub(down).Round(time.Millisecond))
	if recovery > 5*time.Second {
		t.Errorf("recovery took %s, want at most 5 s", recovery)
	}
	bot.add("after")
	l.wait(t, 60*time.Second)

	// During the outage (requests sent after the stop, answered before the
	// start) nothing may be acknowledged.
	l.mu.Lock()
	outage503, outage2xx := 0, 0
	for _, a := range l.answers {
		if a.sent.After(down) && a.got.Before(upAt) {
			switch {
			case a.status/100 == 2:
				outage2xx++
			case a.status == 503:
				outage503++
			default:
				t.Errorf("a webhook answered %d during the outage, want 503", a.status)
			}
		}
	}
	l.mu.Unlock()
	if outage2xx > 0 || outage503 == 0 {
		t.Errorf("during the outage: %d acknowledged, %d answered 503; want 0 and > 0", outage2xx, outage503)
	}
	acked, stored, dups := checkExactlyOnce(t, l, p.base, token)
	if acked != 1200 {
		t.Errorf("%d messages acknowledged, want all 1200", acked)
	}
	waitFor(t, "all 7 Telegram updates stored", 20*time.Second, func() bool { return countTelegram(t, p.base, token) >= 7 })
	time.Sleep(500 * time.Millisecond)
	if n := countTelegram(t, p.base, token); n != 7 {
		t.Errorf("%d Telegram messages, want exactly 7", n)
	}
	t.Logf("ingest: %d acknowledged (%d before the stop), %d stored, %d duplicated; %d answered 503 during the outage; answers %v",
		acked, atStop, stored, dups, outage503, l.status)
}

// ---- provider down -----------------------------------------------------

// TestFaultProviderDown keeps a webhook channel's callback down (500, then
// timeouts, then 429 with Retry-After) for a few seconds: its replies
// queue and retry with backoff, show the error while pending, and are
// delivered once when it returns; another channel's replies go out
// meanwhile.
func TestFaultProviderDown(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { providerDown(t, d) })
	}
}

func providerDown(t *testing.T, d store.Dialect) {
	down := newReceiver(t, "fail")
	up := newReceiver(t, "ok")
	cfg, err := daemon.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
outbox: {base_delay: 100ms, max_delay: 400ms, max_attempts: 1000}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %s, callback_url: %q}
  - {id: shop, kind: webhook, queue: support, secret: %s, callback_url: %q}
`, storetest.URL(t, d), faultSecret, down.URL, faultSecret, up.URL)), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dm, err := daemon.Start(context.Background(), cfg, daemon.Options{Logger: slog.New(slog.DiscardHandler),
		Notice: io.Discard, OutboxPoll: 50 * time.Millisecond, HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	base := "http://" + dm.Addr
	token := login(t, base)

	type rep struct {
		conv, msg int64
		id        string
	}
	send := func(channel string, n int) []rep {
		var out []rep
		for i := range n {
			st, conv := postOnce(t, base, channel, fmt.Sprintf("%s-%d", channel, i), fmt.Sprintf("%s-c%d", channel, i))
			if st != 202 {
				t.Fatalf("post: %d", st)
			}
			m := reply(t, base, token, conv, "reply "+channel)
			out = append(out, rep{conv, m, strconv.FormatInt(m, 10)})
		}
		return out
	}
	crm := send("crm", 3)
	began := time.Now()
	shop := send("shop", 3)
	// The other channel is not held up.
	waitFor(t, "the shop's replies are sent while crm's callback is down", 5*time.Second, func() bool {
		for _, r := range shop {
			if st, _ := deliveryOf(t, base, token, r.conv, r.msg); st != "sent" {
				return false
			}
		}
		return true
	})
	t.Logf("the healthy channel's replies went out in %s", time.Since(began).Round(time.Millisecond))
	// 500s, then timeouts, then 429s.
	waitFor(t, "crm's replies fail twice", 5*time.Second, func() bool { return down.tries(crm[0].id) >= 2 })
	down.setMode("slow")
	waitFor(t, "a timed-out attempt", 5*time.Second, func() bool {
		down.mu.Lock()
		defer down.mu.Unlock()
		for _, a := range down.answered[crm[0].id] {
			if a == 0 {
				return true
			}
		}
		return false
	})
	down.setMode("limited")
	limitedFrom := down.tries(crm[0].id)
	waitFor(t, "two attempts answered 429", 8*time.Second, func() bool { return down.tries(crm[0].id) >= limitedFrom+2 })
	// The console shows why a reply waits.
	for _, r := range crm {
		st, why := deliveryOf(t, base, token, r.conv, r.msg)
		if st != "pending" || why == "" {
			t.Errorf("reply %s while the provider is down: delivery %q, error %q; want pending with the reason", r.id, st, why)
		}
	}
	// 429 with Retry-After: 1 waits at least about a second.
	down.mu.Lock()
	ts, ans := down.attempts[crm[0].id], down.answered[crm[0].id]
	for i := 1; i < len(ts) && i < len(ans)+1; i++ {
		if ans[i-1] == 429 && ts[i].Sub(ts[i-1]) < 900*time.Millisecond {
			t.Errorf("attempt %d came %s after a 429 with Retry-After: 1", i+1, ts[i].Sub(ts[i-1]))
		}
	}
	down.mu.Unlock()
	down.setMode("ok")
	back := time.Now()
	waitFor(t, "crm's replies are sent once the provider is back", 10*time.Second, func() bool {
		for _, r := range crm {
			if st, _ := deliveryOf(t, base, token, r.conv, r.msg); st != "sent" {
				return false
			}
		}
		return true
	})
	t.Logf("delivered %s after the provider came back", time.Since(back).Round(time.Millisecond))
	time.Sleep(700 * time.Millisecond)
	for _, r := range crm {
		tries := down.tries(r.id)
		if n := down.delivered(r.id); n != 1 {
			t.Errorf("reply %s delivered %d times, want 1", r.id, n)
		}
		// Backoff: over a ~5 s outage with 100-400 ms delays, a 300 ms
		// timeout and 1 s Retry-After, far fewer than one attempt per poll.
		if tries > 30 {
			t.Errorf("reply %s tried %d times: no backoff", r.id, tries)
		}
		t.Logf("reply %s: %d attempts, delivered once", r.id, tries)
	}
	for _, r := range shop {
		if n := up.delivered(r.id); n != 1 || up.tries(r.id) != 1 {
			t.Errorf("shop reply %s: %d deliveries in %d attempts, want 1 in 1", r.id, n, up.tries(r.id))
		}
	}
}

// ---- unwritable data_dir and a full disk --------------------------------

// TestFaultUnwritableDataDir starts the daemon on a data_dir it cannot
// write even as root: under a regular file, under /proc, and on a path in
// a read-only /sys. It must exit non-zero at once with an error naming
// data_dir, and leave what was there untouched.
func TestFaultUnwritableDataDir(t *testing.T) {
	bin := inboxdBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	os.WriteFile(file, []byte("precious"), 0o600)
	cases := map[string]string{
		"under a regular file": filepath.Join(file, "data"),
		"under /proc":          "/proc/inboxd-test-data",
		"in /proc itself":      "/proc/self",
	}
	for name, dataDir := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
listen: 127.0.0.1:0
data_dir: %s
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues: [{id: support}]
channels: [{id: site, kind: widget, queue: support}]
`, dataDir))
			p := spawn(t, []string{bin}, cfg)
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				t.Fatalf("inboxd still runs on an unwritable data_dir:\n%s", p.log)
			}
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero status", p.err)
			}
			out := p.log.String()
			if !strings.Contains(out, "data_dir") || !strings.Contains(out, dataDir) {
				t.Fatalf("the error does not name data_dir %s:\n%s", dataDir, out)
			}
			t.Logf("%s: %s", name, strings.TrimSpace(out))
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "precious" {
		t.Fatalf("the file in the way was changed: %q", b)
	}
}

// TestFaultDiskFull runs the daemon with a file size limit (RLIMIT_FSIZE
// through prlimit: writes past it fail as on a full disk, no privileges
// needed) and feeds it large messages until the database cannot grow:
// webhooks must answer 503, never acknowledge what is not stored; after a
// restart without the limit the database passes integrity_check and holds
// every acknowledged message exactly once.
func TestFaultDiskFull(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prlimit (util-linux) is missing")
		}
		t.Skip("prlimit (util-linux) is absent")
	}
	bin := inboxdBinary(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "inboxd.db")
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: ${LISTEN}
data_dir: %s
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %s}
`, dir, faultSecret))
	addr := freePort(t)
	// First start without a limit: create and migrate the database.
	p := serveOn(t, []string{bin}, cfg, addr)
	p.stop(t)
	fi, err := os.Stat(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	limit := fi.Size() + 256<<10
	p = serveOn(t, []string{prlimit, "--fsize=" + strconv.FormatInt(limit, 10), "--", bin}, cfg, addr)
	acked := map[string]bool{}
	full, answers := 0, map[int]int{}
	big := strings.Repeat("x", 16<<10)
	for i := 0; i < 400 && full < 10; i++ {
		id := fmt.Sprintf("f%d", i)
		body := []byte(fmt.Sprintf(`{"message_id":%q,"contact":{"id":"c%d","name":"Filler"},"text":"msg %s %s"}`, id, i%5, id, big))
		req, _ := http.NewRequest("POST", p.base+"/hooks/webhook/crm", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Inboxd-Signature", "sha256="+hooksig.Sign([]byte(faultSecret), body))
		resp, err := loadClient.Do(req)
		if err != nil {
			select {
			case <-p.exited:
				t.Logf("inboxd exited on the full disk: %v", p.err)
				i = 400
				continue
			default:
				t.Fatalf("post: %v", err)
			}
		}
		resp.Body.Close()
		answers[resp.StatusCode]++
		switch {
		case resp.StatusCode == 202:
			acked[id] = true
		case resp.StatusCode == 503:
			full++
		default:
			t.Fatalf("a full disk answered %d, want 503", resp.StatusCode)
		}
	}
	if full == 0 {
		t.Fatalf("the disk never filled up (limit %d bytes): answers %v", limit, answers)
	}
	if st := apiGet(t, p.base, "", "/healthz", nil); st != 200 {
		t.Logf("/healthz on a full disk: %d", st)
	}
	p.stop(t)
	p.cmd.Process.Kill()

	// Restart without the limit: nothing corrupt, nothing lost.
	st, err := store.Open(context.Background(), "sqlite:"+dbPath, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var check string
	st.DB().Raw("PRAGMA integrity_check").Scan(&check)
	st.Close()
	if check != "ok" {
		t.Fatalf("integrity_check after a full disk: %s", check)
	}
	p = serveOn(t, []string{bin}, cfg, addr)
	token := login(t, p.base)
	counts := storedInbound(t, p.base, token, "crm")
	stored := 0
	for id := range acked {
		key := fmt.Sprintf("msg %s %s", id, big)
		if counts[key] != 1 {
			t.Errorf("acknowledged %s stored %d times", id, counts[key])
		}
	}
	for _, n := range counts {
		stored += n
	}
	t.Logf("disk full at %d bytes: %d acknowledged, %d stored, answers %v; integrity_check ok", limit, len(acked), stored, answers)
}
