package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

const replaySummary = `Measures a live feed's replay as a client sees it: opens --path with
Last-Event-ID --last-event-id, --requests times one after the other, and
times each from the request to the --frames-th event after the widget's
"ready" (the replay's last frame when --frames is what the resume point
has to replay), then closes it. Paths under /widget/ are opened without
the owner's token (put ?token=<visitor token> in --path for a visitor).`

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", replaySummary, stderr)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "the daemon's base URL (127.0.0.1 or localhost only)")
	var auth authFlags
	auth.register(fs)
	path := fs.String("path", "/api/v1/journal/events", "the feed's path")
	lastID := fs.String("last-event-id", "0", "the resume point")
	frames := fs.Int("frames", 1, "events to wait for (the widget's ready not counted)")
	requests := fs.Int("requests", 50, "measured requests (after 3 warm-up requests)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := checkBaseURL(*rawURL)
	if err != nil {
		return err
	}
	if *requests < 1 || *requests > 100_000 || *frames < 1 {
		return errors.New("--requests: must be between 1 and 100000; --frames at least 1")
	}
	c := newClient(base, 2, 5*time.Minute)
	if !strings.HasPrefix(*path, "/widget/") {
		if err := c.authenticate(ctx, auth); err != nil {
			return err
		}
	}
	var h Histogram
	var last sseEvent
	for i := -3; i < *requests; i++ {
		start := time.Now()
		ev, err := replayOnce(ctx, c, *path, *lastID, *frames)
		if err != nil {
			return err
		}
		if i >= 0 {
			h.Record(time.Since(start))
		}
		last = ev
	}
	fmt.Fprintf(stdout, "replay %s after %s, %d events: %s (last: id %q event %q)\n",
		*path, *lastID, *frames, h.Summary(), last.ID, last.Event)
	return nil
}

var errEnough = errors.New("enough events")

// replayOnce opens the feed and returns its frames-th event.
func replayOnce(ctx context.Context, c *Client, path, lastID string, frames int) (sseEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := c.subscribe(ctx, path, lastID)
	if err != nil {
		return sseEvent{}, err
	}
	defer body.Close()
	var got sseEvent
	n := 0
	err = readSSE(body, func(ev sseEvent) error {
		if ev.Event == "ready" {
			return nil
		}
		if n++; n == frames {
			got = ev
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return got, nil
	}
	return got, fmt.Errorf("%s: the feed ended after %d events: %v", path, n, err)
}
