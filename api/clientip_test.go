package api

import (
	"net"
	"net/http/httptest"
	"testing"
)

func mustNets(t *testing.T, ss ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, s := range ss {
		n, err := ParseTrustedProxy(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestClientIPTrustsOnlyConfiguredProxies: without trusted proxies the
// connection's address counts and forwarding headers are ignored; with
// them, X-Forwarded-For is read right to left past trusted proxies only
// (not past loopback, link-local or private addresses echo would trust by
// default).
func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	for _, tc := range []struct {
		name, remote, xff, realIP string
		trusted                   []string
		want                      string
	}{
		{"no proxies: headers ignored", "192.0.2.7:5555", "203.0.113.9", "203.0.113.10", nil, "192.0.2.7"},
		{"no proxies: loopback peer's header ignored", "127.0.0.1:5555", "203.0.113.9", "", nil, "127.0.0.1"},
		{"no proxies: private peer's header ignored", "10.0.0.3:5555", "203.0.113.9", "", nil, "10.0.0.3"},
		{"trusted peer: its entry", "127.0.0.1:5555", "203.0.113.9", "", []string{"127.0.0.1/32"}, "203.0.113.9"},
		{"trusted peer: forged entries before the proxy's own are skipped", "127.0.0.1:5555", "1.2.3.4, 203.0.113.9", "", []string{"127.0.0.1"}, "203.0.113.9"},
		{"a chain of trusted proxies", "10.0.0.1:5555", "198.51.100.4, 10.0.0.2", "", []string{"10.0.0.0/8"}, "198.51.100.4"},
		{"untrusted peer: its header ignored", "192.0.2.7:5555", "203.0.113.9", "", []string{"127.0.0.1/32"}, "192.0.2.7"},
		{"private peer not configured: not trusted", "10.0.0.3:5555", "203.0.113.9", "", []string{"127.0.0.1/32"}, "10.0.0.3"},
		{"loopback peer not configured: not trusted", "127.0.0.1:5555", "203.0.113.9", "", []string{"192.0.2.0/24"}, "127.0.0.1"},
		{"X-Real-IP is never read", "127.0.0.1:5555", "", "203.0.113.10", []string{"127.0.0.1/32"}, "127.0.0.1"},
		{"IPv6 proxy", "[2001:db8::1]:5555", "203.0.113.9", "", []string{"2001:db8::1"}, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := clientIP(mustNets(t, tc.trusted...))(r); got != tc.want {
				t.Fatalf("client IP %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxy(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1/32", "10.0.0.0/8": "10.0.0.0/8", "2001:db8::1": "2001:db8::1/128",
		"192.168.1.7/24": "192.168.1.0/24"} {
		n, err := ParseTrustedProxy(in)
		if err != nil || n.String() != want {
			t.Errorf("%q: %v %v, want %s", in, n, err, want)
		}
	}
	for _, in := range []string{"", "localhost", "10.0.0.0/33", "1.2.3", "*"} {
		if _, err := ParseTrustedProxy(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
