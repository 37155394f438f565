package api

import (
	"net"

	"github.com/labstack/echo/v4"
)

// clientIP is how every handler learns the client's address (c.RealIP()).
// Without trusted proxies it is the connection's address and forwarding
// headers are ignored: anyone can send X-Forwarded-For, so trusting it
// would let a client pick the address that login throttles, the contact
// form's and the widget's limits and the logs count. With trusted
// proxies, X-Forwarded-For is read right to left and the first address
// that is not a trusted proxy is the client's. X-Real-IP is never read.
//
// echo's trust options trust loopback, link-local and private ranges by
// default; they are all turned off here, so only the configured ranges
// are trusted.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseTrustedProxy parses a trusted_proxies entry: a CIDR range or a
// single address (a /32 or /128).
func ParseTrustedProxy(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, &net.ParseError{Type: "IP address or CIDR range", Text: s}
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}
