package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"path"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// FetchAttachment streams an inbound file from Telegram: getFile turns the
// file id (Attachment.ProviderRef) into a path, then the file is read from
// <api_base_url>/file/bot<token>/<path>. The URL is built here because the
// library's File.Link always points at api.telegram.org, whatever endpoint
// the bot uses. The token stays inside: errors name neither the URL nor the
// token, and the caller only sees the bytes.
func (c *Channel) FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error) {
	if ref == "" {
		return nil, "", inbox.Errorf(inbox.ENotFound, "attachment not found")
	}
	var f tgbotapi.File
	if err := c.callShort(ctx, "getFile", map[string]string{"file_id": ref}, &f); err != nil {
		return nil, "", fetchError(err)
	}
	if f.FilePath == "" {
		return nil, "", inbox.Errorf(inbox.ENotFound, "attachment is no longer available at Telegram")
	}
	if f.FileSize > inbox.MaxAttachmentBytes {
		return nil, "", inbox.Errorf(inbox.ETooLarge, "attachment is too large")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.fileURL(f.FilePath), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: bad file path", inbox.Errorf(inbox.EInternal, "cannot fetch attachment"))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, and the URL holds the token.
		return nil, "", fmt.Errorf("%w: download: %v", unavailable(), providerhttp.Cause(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, "", inbox.Errorf(inbox.ENotFound, "attachment is no longer available at Telegram")
		}
		return nil, "", fmt.Errorf("%w: download answered %d", unavailable(), resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	if ctype == "" || ctype == "application/octet-stream" {
		if t := mime.TypeByExtension(path.Ext(f.FilePath)); t != "" {
			ctype = t
		}
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return providerhttp.CapBody(resp.Body, inbox.MaxAttachmentBytes), ctype, nil
}

// fileURL is the download URL of a getFile path, each segment escaped.
func (c *Channel) fileURL(filePath string) string {
	segs := strings.Split(strings.TrimLeft(filePath, "/"), "/")
	for i, s := range segs {
		segs[i] = neturl.PathEscape(s)
	}
	return c.cfg.APIBaseURL + "/file/bot" + c.cfg.Token + "/" + strings.Join(segs, "/")
}

// fetchError maps a failed getFile to the API's terms; the cause (Telegram's
// description, or a transport error without the URL) stays in the text
// for the logs, the code and message are the client's.
func fetchError(err error) error {
	var e *apiError
	if !errors.As(err, &e) {
		return fmt.Errorf("%w: %v", unavailable(), err)
	}
	switch code := e.code(); {
	case code == 400 && strings.Contains(strings.ToLower(e.Description), "too big"):
		return fmt.Errorf("%w: %v", inbox.Errorf(inbox.ETooLarge, "attachment is too large for the Bot API"), err)
	case code == 400: // "Bad Request: invalid file_id", "wrong file_id or the file is temporarily unavailable"
		return fmt.Errorf("%w: %v", inbox.Errorf(inbox.ENotFound, "attachment is no longer available at Telegram"), err)
	}
	return fmt.Errorf("%w: %v", unavailable(), err)
}

func unavailable() *inbox.Error {
	return inbox.Errorf(inbox.EUnavailable, "Telegram is unavailable, retry later")
}
