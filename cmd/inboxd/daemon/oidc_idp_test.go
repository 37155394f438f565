package daemon_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// testIdP is an OpenID Connect provider in the test: discovery and keys
// from go-oidc's oidctest, plus an authorization endpoint that signs the
// configured person in at once and a token endpoint that checks the
// client, the redirect URI and the PKCE verifier before it signs an RS256
// ID token. What the next token says is set per test (a wrong audience,
// an expired token, an unverified email, another nonce).
type testIdP struct {
	*httptest.Server
	t   *testing.T
	key *rsa.PrivateKey

	mu     sync.Mutex
	grants map[string]idpGrant
	next   idpIdentity
	tokens int // ID tokens issued
}

// idpIdentity is who the provider signs in, and how the token is made.
type idpIdentity struct {
	Email    string
	Verified any // true, false or "true"
	Name     string
	Audience string // "" : the client id
	Expired  bool
	Nonce    string // "" : the one the login asked for
}

type idpGrant struct {
	nonce, challenge, redirect string
}

const (
	idpClientID     = "inboxd-test"
	idpClientSecret = "idp-client-secret-123"
)

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, grants: map[string]idpGrant{}}
	disc := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/openid-configuration", disc)
	mux.Handle("/keys", disc)
	mux.HandleFunc("/auth", p.authorize)
	mux.HandleFunc("/token", p.token)
	p.Server = httptest.NewServer(mux)
	disc.SetIssuer(p.URL)
	t.Cleanup(p.Close)
	return p
}

func (p *testIdP) set(id idpIdentity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = id
}

func (p *testIdP) issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// authorize signs the configured person in and sends the browser back.
func (p *testIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != idpClientID || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := strconv.FormatInt(time.Now().UnixNano(), 36)
	p.mu.Lock()
	p.grants[code] = idpGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code, once, for an ID token.
func (p *testIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	tokenError := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":%q}`, code)
	}
	if id != idpClientID || secret != idpClientSecret {
		tokenError("invalid_client")
		return
	}
	p.mu.Lock()
	g, found := p.grants[r.PostForm.Get("code")]
	delete(p.grants, r.PostForm.Get("code"))
	who := p.next
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError("invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "sub": "sub-" + who.Email, "aud": idpClientID, "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "nonce": g.nonce, "email": who.Email, "email_verified": who.Verified, "name": who.Name}
	if who.Audience != "" {
		claims["aud"] = who.Audience
	}
	if who.Expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	if who.Nonce != "" {
		claims["nonce"] = who.Nonce
	}
	raw, _ := json.Marshal(claims)
	p.mu.Lock()
	p.tokens++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + r.PostForm.Get("code"), "token_type": "Bearer",
		"expires_in": 3600, "id_token": oidctest.SignIDToken(p.key, "k1", oidc.RS256, string(raw))})
}

// freeAddr is a 127.0.0.1 address free a moment ago (public_url must be
// known before the daemon listens).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
