package providerhttp

import (
	"io"

	"github.com/inboxd/inboxd/inbox"
)

// CapBody returns rc limited to max bytes: a download that grows past
// max fails with a too_large error rather than being silently cut.
func CapBody(rc io.ReadCloser, max int64) io.ReadCloser {
	return &cappedBody{rc: rc, left: max}
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 {
			return 0, err // io.EOF: exactly at the limit
		}
		return 0, inbox.Errorf(inbox.ETooLarge, "attachment is too large")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
