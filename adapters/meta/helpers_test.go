package meta

import (
	"bytes"
	"encoding/json"
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
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

const (
	testSecret = "app-secret"
	testVerify = "verify-me"
	testToken  = "PAGE-TOKEN"
)

// yamlConfig is an adapters.Config whose Decode behaves like the daemon's:
// yaml keys, unknown keys refused.
func yamlConfig(kind, doc string) adapters.Config {
	return adapters.Config{ID: "fb", Kind: kind, Decode: func(into any) error {
		d := yaml.NewDecoder(strings.NewReader(doc))
		d.KnownFields(true)
		return d.Decode(into)
	}}
}

// graphFake is an httptest Graph API: profiles and the Send API.
type graphFake struct {
	*httptest.Server
	mu       sync.Mutex
	profiles map[string]string // psid -> JSON answer; absent: 400
	calls    []*recorded
	// send answers the Send API; nil: 200 with a fresh message id.
	send func(w http.ResponseWriter, r *http.Request, body []byte)
	n    int
}

type recorded struct {
	Method, Path, Query, Auth string
	Body                      []byte
}

func newGraphFake(t *testing.T) *graphFake {
	g := &graphFake{profiles: map[string]string{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.calls = append(g.calls, &recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body})
		g.n++
		n := g.n
		send := g.send
		g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"fbtrace_id":"Ax"}}`)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") {
			if send != nil {
				send(w, r, body)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"recipient_id": "psid", "message_id": "m_sent_" + string(rune('a'+n%26))})
			return
		}
		if r.Method == http.MethodGet {
			psid := strings.TrimPrefix(r.URL.Path, "/")
			g.mu.Lock()
			ans, ok := g.profiles[psid]
			g.mu.Unlock()
			if ok {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, ans)
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"(#100) Unsupported get request.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"Bx"}}`)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *graphFake) recorded() []*recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*recorded(nil), g.calls...)
}

func (g *graphFake) count(method string) int {
	n := 0
	for _, c := range g.recorded() {
		if c.Method == method {
			n++
		}
	}
	return n
}

type testEnv struct {
	ch    *Channel
	ing   *inboxtest.Ingester
	graph *graphFake
	now   time.Time
}

func newTestChannel(t *testing.T, p Platform, extra string) *testEnv {
	t.Helper()
	env := &testEnv{ing: inboxtest.NewIngester(), graph: newGraphFake(t), now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	doc := "page_id: \"1234\"\npage_access_token: " + testToken + "\napp_secret: " + testSecret +
		"\nverify_token: " + testVerify + "\napi_base_url: " + env.graph.URL + "\n" + extra
	factory := NewMessenger
	if p == Instagram {
		factory = NewInstagram
	}
	ch, err := factory(yamlConfig(string(p), doc), adapters.Deps{
		Ingest:     env.ing,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:      inbox.ClockFunc(func() time.Time { return env.now }),
		HTTPClient: env.graph.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.ch = ch.(*Channel)
	return env
}

// post sends body to the webhook signed with secret ("" : unsigned).
func (env *testEnv) post(body []byte, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/hooks/meta/fb", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(SignatureHeader, "sha256="+hooksig.Sign([]byte(secret), body))
	}
	w := httptest.NewRecorder()
	env.ch.ServeHTTP(w, r)
	return w
}
