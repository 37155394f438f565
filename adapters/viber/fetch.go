package viber

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// FetchAttachment implements adapters.AttachmentFetcher. ref is the media
// URL of a signed callback; Viber serves it without credentials, and only
// for about an hour after the message (later fetches fail with Viber's
// 4xx, surfaced as not found).
func (c *Channel) FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error) {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", inbox.Invalid("attachment", "is not a Viber media URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return nil, "", inbox.Invalid("attachment", "is not a Viber media URL")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// The URL carries a signature in its query: keep it out of errors.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("viber media %s: %w", u.Host, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return nil, "", inbox.Errorf(inbox.ENotFound, "the Viber attachment is no longer available")
		}
		return nil, "", providerhttp.Classify(resp.StatusCode, resp.Header, "media download failed")
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &limitedBody{r: io.LimitReader(resp.Body, inbox.MaxAttachmentBytes+1), c: resp.Body}, ct, nil
}

// limitedBody stops a download at inbox.MaxAttachmentBytes with an error
// instead of a silently cut file.
type limitedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > inbox.MaxAttachmentBytes {
		return 0, errors.New("viber attachment is larger than the attachment limit")
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }
