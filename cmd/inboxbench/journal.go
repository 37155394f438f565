package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

const journalSummary = `Measures GET /api/v1/journal (limit 50) through HTTP, one request at a time:
the first page and a deep page (reached by following next_cursor --depth pages
down), each without a filter and with each single filter: status, channel,
agent, a search term (q) and, with --tag, a tag (seed --tag tags a share).
Prints p50/p95/p99/max per row as a Markdown
table. Latency is measured by the client (HTTP round trip and JSON decoding on
this machine); when the daemon sends a Server-Timing header its figure is
shown too.`

func journalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("journal", journalSummary, stderr)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "the daemon's base URL (127.0.0.1 or localhost only)")
	var auth authFlags
	auth.register(fs)
	requests := fs.Int("requests", 200, "measured requests per row (after 5 warm-up requests)")
	depth := fs.Int("depth", 20, "pages to follow next_cursor down for the deep page (50 rows a page)")
	status := fs.String("status", "unassigned", "value of the status filter")
	channel := fs.String("channel", "crm", "value of the channel filter")
	agent := fs.Int64("agent", 0, "user id for the agent filter (default: the logged-in user)")
	search := fs.String("search", "order 4242", "search term (q) for the search rows")
	tag := fs.String("tag", "", "tag name for the tag filter rows (empty: no tag rows)")
	rowTime := fs.Duration("row-time", 30*time.Second, "time budget per row: a slow row stops early and shows its sample count")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := checkBaseURL(*rawURL)
	if err != nil {
		return err
	}
	if *requests < 1 || *requests > 100_000 {
		return errors.New("--requests: must be between 1 and 100000")
	}
	if *depth < 1 || *depth > 10_000 {
		return errors.New("--depth: must be between 1 and 10000")
	}
	if *rowTime <= 0 || *rowTime > time.Hour {
		return errors.New("--row-time: must be between 0 and 1h")
	}
	c := newClient(base, 2, 30*time.Second)
	if err := c.authenticate(ctx, auth); err != nil {
		return err
	}
	if *agent == 0 {
		var me struct {
			ID int64 `json:"id"`
		}
		if _, err := c.getJSON(ctx, "/api/v1/me", &me); err != nil {
			return err
		}
		*agent = me.ID
	}
	filters := []struct{ name, key, value string }{
		{"no filter", "", ""},
		{"status=" + *status, "status", *status},
		{"channel=" + *channel, "channel", *channel},
		{"agent=" + strconv.FormatInt(*agent, 10), "agent", strconv.FormatInt(*agent, 10)},
		{"q=" + strconv.Quote(*search), "q", *search},
	}
	if *tag != "" {
		filters = append(filters, struct{ name, key, value string }{"tag=" + *tag, "tag", *tag})
	}
	fmt.Fprintf(stdout, "journal: %s, %d requests per row, sequential; latency is client-side (HTTP round trip + JSON decode)\n\n", base, *requests)
	fmt.Fprintln(stdout, "| query | page | rows | n | p50 | p95 | p99 | max | server p99 |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|")
	serverSent := false
	for _, f := range filters {
		q := url.Values{"limit": {"50"}}
		if f.key != "" {
			q.Set(f.key, f.value)
		}
		// The deep page's cursor comes from walking the filtered list.
		cursor, reached, err := walkCursor(ctx, c, q, *depth)
		if err != nil {
			return err
		}
		pages := []struct {
			label  string
			cursor string
		}{{"first", ""}}
		if cursor != "" {
			pages = append(pages, struct {
				label  string
				cursor string
			}{fmt.Sprintf("deep (%d rows down)", reached*50), cursor})
		}
		for _, p := range pages {
			pq := url.Values{}
			for k, v := range q {
				pq[k] = v
			}
			if p.cursor != "" {
				pq.Set("cursor", p.cursor)
			}
			r, err := measurePage(ctx, c, "/api/v1/journal?"+pq.Encode(), *requests, *rowTime)
			if err != nil {
				return err
			}
			srv := "—"
			if r.server.Count() > 0 {
				srv, serverSent = ms(r.server.Quantile(0.99)), true
			}
			fmt.Fprintf(stdout, "| %s | %s | %d | %d | %s | %s | %s | %s | %s |\n", f.name, p.label, r.rows, r.client.Count(),
				ms(r.client.Quantile(0.5)), ms(r.client.Quantile(0.95)), ms(r.client.Quantile(0.99)), ms(r.client.Max()), srv)
		}
		if cursor == "" {
			fmt.Fprintf(stdout, "| %s | deep | — | — | fewer than 2 pages match | | | | |\n", f.name)
		}
	}
	if !serverSent {
		fmt.Fprintln(stdout, "\nThe daemon sent no Server-Timing header: every figure is client-side.")
	}
	return nil
}

// walkCursor follows next_cursor up to depth pages and returns the last
// cursor seen and how many pages it skips ("" when there is one page).
func walkCursor(ctx context.Context, c *Client, q url.Values, depth int) (string, int, error) {
	cursor, reached := "", 0
	for reached < depth {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		if cursor != "" {
			pq.Set("cursor", cursor)
		}
		var p struct {
			NextCursor string `json:"next_cursor"`
		}
		if _, err := c.getJSON(ctx, "/api/v1/journal?"+pq.Encode(), &p); err != nil {
			return "", 0, err
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		reached++
	}
	return cursor, reached, nil
}

type pageResult struct {
	client, server Histogram
	rows           int
}

// measurePage GETs path requests times after a short warm-up, or until
// budget is spent (a search scanning millions of rows must not hold the
// run for an hour).
func measurePage(ctx context.Context, c *Client, path string, requests int, budget time.Duration) (*pageResult, error) {
	r := &pageResult{}
	start := time.Now()
	end := start.Add(budget)
	for i := -5; i < requests && (i <= 0 || time.Now().Before(end)); i++ {
		if i < 0 && time.Since(start) > budget/10 {
			i = 0 // slow enough that the warm-up is not worth its time
		}
		var p struct {
			Items []struct{} `json:"items"`
		}
		t, err := c.getJSON(ctx, path, &p)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue // warm-up: connections, caches, prepared plans
		}
		r.rows = len(p.Items)
		r.client.Record(t.client)
		if t.server > 0 {
			r.server.Record(t.server)
		}
	}
	return r, nil
}
