package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/adapters/providerhttp"
)

// apiError is a Bot API call that Telegram answered with ok=false.
type apiError struct {
	Method      string
	Status      int // HTTP status
	Code        int // Telegram's error_code (mirrors the status)
	Description string
	// RetryAfter is parameters.retry_after, in seconds (429).
	RetryAfter int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("telegram %s: %d %s", e.Method, e.code(), e.Description)
}

// code is Telegram's error code, the HTTP status when the body had none.
func (e *apiError) code() int {
	if e.Code != 0 {
		return e.Code
	}
	return e.Status
}

// call invokes a Bot API method with a JSON body (Telegram accepts JSON as
// well as forms) and decodes the result into out (nil: ignore). The URL
// holds the token: providerhttp.Call keeps it out of its errors, and
// nothing here formats the URL.
func (c *Channel) call(ctx context.Context, method string, params, out any) error {
	url := c.cfg.APIBaseURL + "/bot" + c.cfg.Token + "/" + method
	status, h, body, err := providerhttp.Call(ctx, c.client, http.MethodPost, url, nil, params)
	if err != nil {
		return err
	}
	var resp tgbotapi.APIResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		// A proxy's HTML error page, or a truncated answer.
		if e := providerhttp.Classify(status, h, "unreadable answer"); e != nil {
			return fmt.Errorf("telegram %s: %w", method, e)
		}
		return fmt.Errorf("telegram %s: unreadable answer: %w", method, err)
	}
	if !resp.Ok {
		e := &apiError{Method: method, Status: status, Code: resp.ErrorCode, Description: resp.Description}
		if resp.Parameters != nil {
			e.RetryAfter = resp.Parameters.RetryAfter
		}
		if e.Description == "" {
			e.Description = http.StatusText(status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return fmt.Errorf("telegram %s: unreadable result: %w", method, err)
	}
	return nil
}

// callShort runs call with the default per-call deadline.
func (c *Channel) callShort(ctx context.Context, method string, params, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return c.call(ctx, method, params, out)
}

// apiCode returns Telegram's error code of err, 0 when err is not an
// answer from Telegram.
func apiCode(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.code()
	}
	return 0
}

// retryAfter returns the wait Telegram asked for, zero when none.
func retryAfter(err error) time.Duration {
	var e *apiError
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return time.Duration(e.RetryAfter) * time.Second
	}
	return 0
}
