package api

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// A feed's response is close-delimited on HTTP/1: the handler sets
// Transfer-Encoding: identity before the headers, so net/http writes
// "Connection: close" and no chunked framing (the setup the SSE
// specification recommends), and the frames go to the socket as they are.
// net/http writes the status line and every header the middleware set
// (request id, security headers, CORS), runs echo's before-write hooks and
// records the status for the access log; the handler takes the connection
// over only after that and the replay.

// closeDelimited prepares an HTTP/1 response for hijacking.
func closeDelimited(c echo.Context) {
	if c.Request().ProtoMajor == 1 {
		c.Response().Header().Set("Transfer-Encoding", "identity")
	}
}

// hijack takes the connection out of net/http once the headers and the
// replay are flushed; nil where that is impossible (HTTP/2, a recorder),
// and the feed then keeps the handler's goroutine (responseWriter).
func hijack(c echo.Context) net.Conn {
	if c.Request().ProtoMajor != 1 {
		return nil
	}
	conn, _, err := http.NewResponseController(c.Response()).Hijack()
	if err != nil {
		return nil
	}
	return conn
}

// connWriter is a hijacked connection.
type connWriter struct {
	conn net.Conn
}

func (w *connWriter) write(frames [][]byte, deadline time.Time) error {
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if _, ok := w.conn.(*net.TCPConn); ok {
		// One writev for the whole batch, with no copy.
		bufs := net.Buffers(frames)
		_, err := bufs.WriteTo(w.conn)
		return err
	}
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range frames {
		b = append(b, f...)
	}
	_, err := w.conn.Write(b)
	return err
}

func (w *connWriter) gone() bool { return peerClosed(w.conn) }

func (w *connWriter) close() { w.conn.Close() }

// responseWriter writes a feed through net/http, where hijacking is
// impossible. The handler waits while it is open (serveFeed).
type responseWriter struct {
	w  *echo.Response
	rc *http.ResponseController
}

func (w *responseWriter) write(frames [][]byte, deadline time.Time) error {
	if err := w.rc.SetWriteDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	for _, f := range frames {
		if _, err := w.w.Write(f); err != nil {
			return err
		}
	}
	return w.rc.Flush()
}

// gone is noticed by the request's context instead.
func (w *responseWriter) gone() bool { return false }

func (w *responseWriter) close() {}
