package viber

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// FetchAttachment implements adapters.AttachmentFetcher. ref is the media
// URL of a signed callback; Viber serves it without credentials, and only
// for about an hour after the message (later fetches fail with Viber's
// 4xx, surfaced as not found). The URL comes from a payload, so it is
// fetched through providerhttp.Fetcher: https at public addresses only,
// unless allow_private_fetch (a refused URL is forbidden, 403).
func (c *Channel) FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error) {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", inbox.Invalid("attachment", "is not a Viber media URL")
	}
	resp, err := c.fetcher.Get(ctx, ref, nil)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.EForbidden {
			c.log.Warn("attachment URL refused", "err", err)
			return nil, "", err
		}
		// The fetcher's error names the URL without its query (Viber
		// signs media links there).
		return nil, "", fmt.Errorf("%w: viber media: %v", unavailable(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return nil, "", inbox.Errorf(inbox.ENotFound, "the Viber attachment is no longer available")
		}
		return nil, "", fmt.Errorf("%w: viber media: download answered %d", unavailable(), resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return providerhttp.CapBody(resp.Body, inbox.MaxAttachmentBytes), ct, nil
}

func unavailable() *inbox.Error {
	return inbox.Errorf(inbox.EUnavailable, "Viber is unavailable, retry later")
}
