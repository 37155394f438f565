package providerhttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"syscall"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// MaxRedirects is how many redirects a payload fetch follows.
const MaxRedirects = 3

// FetchTimeout bounds a payload fetch, body included, when the options
// name no timeout.
const FetchTimeout = 60 * time.Second

// FetchOptions configure a Fetcher.
type FetchOptions struct {
	// AllowPrivate lets http:// URLs and loopback, private and other
	// non-public addresses through: a channel's allow_private_fetch, for
	// tests and for providers reached through a private proxy.
	AllowPrivate bool
	// Timeout bounds one fetch, body included (0: FetchTimeout).
	Timeout time.Duration

	// Tests only: addresses let through although not public (the first
	// hop of a redirect test), and the roots that trust httptest's TLS.
	allowAddr func(netip.AddrPort) bool
	rootCAs   *x509.CertPool
}

// Fetcher downloads files from URLs that come from webhook payloads
// (Meta's and Viber's attachment links): whoever can get a signed payload
// through names the URL, so the URL is untrusted. Unless AllowPrivate,
// a fetch goes over https only, to public addresses only, and follows at
// most MaxRedirects redirects, each checked the same way. The address is
// checked when the connection is made, after DNS resolution, so that a
// name that resolves (or re-resolves) to an internal address is refused
// too. No proxy from the environment is used.
type Fetcher struct {
	client       *http.Client
	allowPrivate bool
}

// NewFetcher returns a Fetcher with its own connection pool.
func NewFetcher(o FetchOptions) *Fetcher {
	f := &Fetcher{allowPrivate: o.AllowPrivate}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		allow := o.allowAddr
		dialer.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
			return checkDial(network, address, allow)
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // never HTTPS_PROXY: the proxy would make the connection, unchecked
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	if o.rootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.rootCAs}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = FetchTimeout
	}
	f.client = &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: f.checkRedirect}
	return f
}

// Get fetches url. A URL the policy refuses, at the start or after a
// redirect, is an *inbox.Error with code EForbidden, and nothing was
// sent to it; other failures are transport errors naming the URL
// redacted. The caller reads and closes the body and judges the status.
func (f *Fetcher) Get(ctx context.Context, url string, header http.Header) (*http.Response, error) {
	return f.do(ctx, http.MethodGet, url, header, nil)
}

// Post sends body to url under the same rules as Get (an integration's
// endpoint: the ticket system). The caller reads and closes the body.
func (f *Fetcher) Post(ctx context.Context, url string, header http.Header, body []byte) (*http.Response, error) {
	return f.do(ctx, http.MethodPost, url, header, body)
}

func (f *Fetcher) do(ctx context.Context, method, url string, header http.Header, body []byte) (*http.Response, error) {
	u, err := neturl.Parse(url)
	if err != nil || u.Host == "" {
		return nil, refused(method, url, errors.New("not an absolute URL"))
	}
	if err := f.checkURL(u); err != nil {
		return nil, refused(method, url, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, refused(method, url, errors.New("not a valid URL"))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cause := Cause(err)
		var pe *policyError
		if errors.As(cause, &pe) {
			return nil, refused(method, url, pe)
		}
		return nil, fmt.Errorf("%s %s: %w", method, RedactURL(url), cause)
	}
	return resp, nil
}

func (f *Fetcher) checkURL(u *neturl.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.allowPrivate:
	default:
		return &policyError{what: "only https URLs are fetched"}
	}
	return nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &policyError{what: fmt.Sprintf("more than %d redirects", MaxRedirects)}
	}
	if err := f.checkURL(req.URL); err != nil {
		return &policyError{what: "redirected to " + RedactURL(req.URL.String()) + ": " + err.Error()}
	}
	return nil
}

// policyError is a fetch the Fetcher's rules refuse.
type policyError struct{ what string }

func (e *policyError) Error() string { return e.what }

func refused(method, url string, cause error) error {
	what := "the file's URL"
	if method != http.MethodGet {
		what = "the endpoint's URL"
	}
	return fmt.Errorf("%w: %s %s: %v",
		inbox.Errorf(inbox.EForbidden, "%s is refused: inboxd fetches only https URLs at public addresses, with at most %d redirects", what, MaxRedirects),
		method, RedactURL(url), cause)
}

// checkDial is the dialer's Control hook: it sees the address a
// connection is about to be made to, after DNS, on every hop.
func checkDial(network, address string, allow func(netip.AddrPort) bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &policyError{what: "unreadable address " + address}
	}
	if allow != nil && allow(ap) {
		return nil
	}
	if network != "tcp4" && network != "tcp6" && network != "tcp" {
		return &policyError{what: "network " + network + " is not fetched"}
	}
	if !PublicAddr(ap.Addr()) {
		return &policyError{what: "address " + ap.Addr().String() + " is not public"}
	}
	return nil
}

// nonPublic are the ranges no public file server lives in (netip's
// predicates cover some of them as well).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),       // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),    // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),     // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),              // IPv4-compatible (deprecated), :: and ::1
	netip.MustParsePrefix("100::/64"),           // discard
	netip.MustParsePrefix("2001::/23"),          // IETF protocol assignments, Teredo
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("fec0::/10"),          // site-local (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("3fff::/20"),          // documentation
	netip.MustParsePrefix("5f00::/16"),          // SRv6 SIDs
	netip.MustParsePrefix("ff00::/8"),           // multicast
	netip.MustParsePrefix("fc00::/7"),           // unique local
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, cloud metadata
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("10.0.0.0/8"),         // private
	netip.MustParsePrefix("172.16.0.0/12"),      // private
	netip.MustParsePrefix("192.168.0.0/16"),     // private
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// PublicAddr reports whether a is a global unicast address outside every
// private, loopback, link-local, shared, reserved and documentation range,
// IPv4-mapped, NAT64 and 6to4 forms judged by the IPv4 address they carry.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return false
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return PublicAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			return PublicAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
