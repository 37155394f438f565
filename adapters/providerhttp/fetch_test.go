package providerhttp

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// internalServer is an https server on 127.0.0.1 holding what an
// attacker wants to read; it counts the requests that reach it.
type internalServer struct {
	*httptest.Server
	hits atomic.Int32
}

func newInternal(t *testing.T, h http.HandlerFunc) *internalServer {
	s := &internalServer{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "INTERNAL-SECRET") }
	}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func roots(srvs ...*internalServer) *x509.CertPool {
	p := x509.NewCertPool()
	for _, s := range srvs {
		p.AddCert(s.Certificate())
	}
	return p
}

func addrOf(t *testing.T, s *internalServer) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func wantRefused(t *testing.T, what string, resp *http.Response, err error) {
	t.Helper()
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("%s: fetched %d %q", what, resp.StatusCode, b)
	}
	if inbox.ErrorCode(err) != inbox.EForbidden {
		t.Fatalf("%s: err = %v (code %s), want forbidden", what, err, inbox.ErrorCode(err))
	}
}

// TestFetcherRefusesInternalAddresses: without allow_private_fetch a
// payload URL reaches only public addresses over https; the check is on
// the address connected to, so a name resolving to loopback is refused.
func TestFetcherRefusesInternalAddresses(t *testing.T) {
	srv := newInternal(t, nil)
	port := addrOf(t, srv).Port()
	f := NewFetcher(FetchOptions{rootCAs: roots(srv), Timeout: 5 * time.Second})
	ctx := context.Background()
	for _, u := range []string{
		srv.URL + "/secret",
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/secret", // resolved, then refused
		"https://[::1]:" + itoa(port) + "/secret",
		"https://[::ffff:127.0.0.1]:" + itoa(port) + "/secret",
		"https://10.0.0.1/secret",
		"https://169.254.169.254/latest/meta-data/",
		"https://100.64.0.1/secret",
		"https://[fd00::1]/secret",
		"https://0.0.0.0:" + itoa(port) + "/secret",
	} {
		resp, err := f.Get(ctx, u, nil)
		wantRefused(t, u, resp, err)
		if strings.Contains(err.Error(), "INTERNAL-SECRET") {
			t.Errorf("%s: %v", u, err)
		}
	}
	// http:// is refused before any connection, whatever the address.
	for _, u := range []string{strings.Replace(srv.URL, "https://", "http://", 1), "http://93.184.215.14/x", "ftp://93.184.215.14/x", "/relative", ""} {
		resp, err := f.Get(ctx, u, nil)
		wantRefused(t, u, resp, err)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("the internal server was reached %d times", n)
	}
}

// TestFetcherChecksEveryRedirect: the first hop is let through by a test
// rule; its redirect to another internal address, to http://, or past
// MaxRedirects is refused, and the internal body is never returned.
func TestFetcherChecksEveryRedirect(t *testing.T) {
	internal := newInternal(t, nil)
	var hops atomic.Int32
	var front *internalServer
	front = newInternal(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-internal":
			http.Redirect(w, r, internal.URL+"/secret", http.StatusFound)
		case "/to-http":
			http.Redirect(w, r, strings.Replace(front.URL, "https://", "http://", 1)+"/ok", http.StatusFound)
		case "/loop":
			hops.Add(1)
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/hop1":
			http.Redirect(w, r, "/hop2", http.StatusFound)
		case "/hop2":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			io.WriteString(w, "PUBLIC-FILE")
		}
	})
	allowed := addrOf(t, front)
	f := NewFetcher(FetchOptions{rootCAs: roots(internal, front), Timeout: 5 * time.Second,
		allowAddr: func(ap netip.AddrPort) bool { return ap == allowed }})
	ctx := context.Background()

	// The rule lets the first hop through, redirects within it too.
	resp, err := f.Get(ctx, front.URL+"/hop1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "PUBLIC-FILE" {
		t.Fatalf("allowed fetch: %q", b)
	}

	resp, err = f.Get(ctx, front.URL+"/to-internal", nil)
	wantRefused(t, "redirect to 127.0.0.1", resp, err)
	resp, err = f.Get(ctx, front.URL+"/to-http", nil)
	wantRefused(t, "redirect to http", resp, err)
	resp, err = f.Get(ctx, front.URL+"/loop", nil)
	wantRefused(t, "redirect loop", resp, err)
	if n := hops.Load(); n != MaxRedirects+1 {
		t.Errorf("followed %d hops of the loop, want %d", n, MaxRedirects+1)
	}
	if n := internal.hits.Load(); n != 0 {
		t.Fatalf("the internal server was reached %d times", n)
	}
}

// TestFetcherAllowPrivate: allow_private_fetch lets http and loopback
// through (tests, a private proxy), and still bounds redirects.
func TestFetcherAllowPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		io.WriteString(w, "OK")
	}))
	defer srv.Close()
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	resp, err := f.Get(context.Background(), srv.URL+"/x", http.Header{"X-Test": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "OK" {
		t.Fatalf("got %q", b)
	}
	if _, err := f.Get(context.Background(), srv.URL+"/loop", nil); inbox.ErrorCode(err) != inbox.EForbidden {
		t.Fatalf("redirect loop: %v", err)
	}
	// Transport errors name the URL redacted.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://u:PASSWORD@" + ln.Addr().String() + "/x?sig=SIGNATURE"
	ln.Close()
	_, err = f.Get(context.Background(), dead, nil)
	if err == nil || inbox.ErrorCode(err) == inbox.EForbidden || strings.Contains(err.Error(), "PASSWORD") || strings.Contains(err.Error(), "SIGNATURE") {
		t.Fatalf("dead server: %v", err)
	}
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"93.184.215.14": true, "8.8.8.8": true, "2606:4700:4700::1111": true, "157.240.1.1": true,
		"127.0.0.1": false, "127.8.9.10": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false,
		"192.168.1.1": false, "169.254.169.254": false, "100.64.0.1": false, "100.127.255.255": false,
		"0.0.0.0": false, "0.1.2.3": false, "255.255.255.255": false, "224.0.0.1": false, "240.0.0.1": false,
		"192.0.2.1": false, "198.18.0.1": false, "::": false, "::1": false, "::127.0.0.1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true,
		"fc00::1": false, "fd12:3456::1": false, "fe80::1": false, "fe80::1%eth0": false, "ff02::1": false,
		"64:ff9b::7f00:1": false, "64:ff9b::808:808": true, "2002:7f00:1::1": false, "2002:808:808::1": true,
		"2001:db8::1": false, "2001::1": false, "fec0::1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
