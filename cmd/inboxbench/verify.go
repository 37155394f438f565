package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// textPrefix starts every message text the tool sends; the message_id
// follows, so the check can match stored messages (whose API view has no
// external id) to what was acknowledged.
const textPrefix = "inboxbench message "

// messageText is the text carrying messageID.
func messageText(messageID string) string { return textPrefix + messageID }

// messageIDOf returns the message_id a text carries, if it is one of ours.
func messageIDOf(text string) (string, bool) {
	id, ok := strings.CutPrefix(text, textPrefix)
	return id, ok && id != ""
}

// checkResult is what the exactly-once check found.
type checkResult struct {
	Acked         int // acknowledged message ids
	Stored        int // distinct acknowledged ids found stored
	Missing       []string
	Duplicated    []string // stored more than once
	Unacked       int      // ours and stored but never acknowledged (a timed-out attempt that did commit): allowed
	Conversations int      // conversations read
	NotInJournal  int      // acknowledged conversations the journal walk did not list
	Took          time.Duration
}

// ok reports whether every acknowledged message is stored exactly once.
func (r checkResult) ok() bool {
	return len(r.Missing) == 0 && len(r.Duplicated) == 0 && r.NotInJournal == 0
}

func (r checkResult) print(w io.Writer) {
	verdict := "OK: every acknowledged message is stored exactly once"
	if !r.ok() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "exactly-once check: %s\n", verdict)
	fmt.Fprintf(w, "  acknowledged %d, stored %d, missing %d, duplicated %d, stored-but-unacknowledged %d (allowed)\n",
		r.Acked, r.Stored, len(r.Missing), len(r.Duplicated), r.Unacked)
	fmt.Fprintf(w, "  conversations read %d, acknowledged conversations missing from the journal %d, took %s\n",
		r.Conversations, r.NotInJournal, r.Took.Round(time.Millisecond))
	for _, l := range []struct {
		name string
		ids  []string
	}{{"missing", r.Missing}, {"duplicated", r.Duplicated}} {
		if len(l.ids) > 0 {
			show := l.ids[:min(len(l.ids), 10)]
			fmt.Fprintf(w, "  %s message_ids (first %d): %s\n", l.name, len(show), strings.Join(show, ", "))
		}
	}
}

// checker verifies, through the HTTP API only, that acknowledged messages
// are stored exactly once: it walks the journal (channel filter, cursors)
// back to the run's start, then reads every listed conversation's
// messages page by page.
type checker struct {
	c       *Client
	channel string
	run     string // only message ids "<run>-…" are counted
	// since: conversations whose last activity is older were not touched
	// by the run, so the walk stops there (with slack for clock skew).
	since   time.Time
	workers int
}

// journalItem is the part of a journal row the check reads.
type journalItem struct {
	ID             int64     `json:"id"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// check compares acked (message_id → conversation id from the 202) with
// what the API shows.
func (k *checker) check(ctx context.Context, acked map[string]int64) (checkResult, error) {
	start := time.Now()
	res := checkResult{Acked: len(acked)}
	convs, err := k.walkJournal(ctx)
	if err != nil {
		return res, err
	}
	listed := make(map[int64]bool, len(convs))
	for _, id := range convs {
		listed[id] = true
	}
	// An acknowledged conversation the walk did not list is a journal
	// bug; its messages are still read so the counts stay meaningful.
	for _, cid := range acked {
		if !listed[cid] {
			listed[cid] = true
			convs = append(convs, cid)
			res.NotInJournal++
		}
	}
	res.Conversations = len(convs)

	counts, err := k.readMessages(ctx, convs)
	if err != nil {
		return res, err
	}
	for id := range acked {
		switch n := counts[id]; {
		case n == 0:
			res.Missing = append(res.Missing, id)
		case n > 1:
			res.Duplicated = append(res.Duplicated, id)
			res.Stored++
		default:
			res.Stored++
		}
	}
	for id := range counts {
		if _, ok := acked[id]; !ok {
			res.Unacked++
		}
	}
	sortIDs(res.Missing)
	sortIDs(res.Duplicated)
	res.Took = time.Since(start)
	return res, nil
}

// sortIDs orders message ids "<run>-<n>" by n, others lexically.
func sortIDs(ids []string) {
	num := func(s string) int64 {
		_, n, _ := strings.Cut(s, "-")
		v, _ := strconv.ParseInt(n, 10, 64)
		return v
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && (num(ids[j]) < num(ids[j-1]) || (num(ids[j]) == num(ids[j-1]) && ids[j] < ids[j-1])); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// maxJournalPages bounds the walk (200 rows a page: 2,000,000 rows).
const maxJournalPages = 10_000

// walkJournal lists the channel's conversations active since k.since.
func (k *checker) walkJournal(ctx context.Context) ([]int64, error) {
	var ids []int64
	cursor := ""
	for page := 0; page < maxJournalPages; page++ {
		q := url.Values{"limit": {"200"}}
		if k.channel != "" {
			q.Set("channel", k.channel)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items      []journalItem `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		if _, err := k.c.getJSON(ctx, "/api/v1/journal?"+q.Encode(), &p); err != nil {
			return nil, fmt.Errorf("walk the journal: %w", err)
		}
		for _, it := range p.Items {
			if it.LastActivityAt.Before(k.since) {
				return ids, nil
			}
			ids = append(ids, it.ID)
		}
		if p.NextCursor == "" {
			return ids, nil
		}
		cursor = p.NextCursor
	}
	return nil, fmt.Errorf("walk the journal: more than %d pages", maxJournalPages)
}

// maxMessagePages bounds one conversation's read (200 a page).
const maxMessagePages = 5_000

// readMessages counts, per message_id of ours, how often it is stored in
// the given conversations.
func (k *checker) readMessages(ctx context.Context, convs []int64) (map[string]int, error) {
	counts := map[string]int{}
	var mu sync.Mutex
	var firstErr error
	work := make(chan int64)
	var wg sync.WaitGroup
	for range max(k.workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cid := range work {
				local, err := k.conversationMessages(ctx, cid)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for id, n := range local {
					counts[id] += n
				}
				mu.Unlock()
			}
		}()
	}
	for _, cid := range convs {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- cid
	}
	close(work)
	wg.Wait()
	return counts, firstErr
}

func (k *checker) conversationMessages(ctx context.Context, cid int64) (map[string]int, error) {
	counts := map[string]int{}
	cursor := ""
	for page := 0; page < maxMessagePages; page++ {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items []struct {
				Text string `json:"text"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		path := "/api/v1/conversations/" + strconv.FormatInt(cid, 10) + "/messages?" + q.Encode()
		if _, err := k.c.getJSON(ctx, path, &p); err != nil {
			return nil, fmt.Errorf("read conversation %d: %w", cid, err)
		}
		for _, m := range p.Items {
			if id, ok := messageIDOf(m.Text); ok && strings.HasPrefix(id, k.run+"-") {
				counts[id]++
			}
		}
		if p.NextCursor == "" {
			return counts, nil
		}
		cursor = p.NextCursor
	}
	return nil, fmt.Errorf("read conversation %d: more than %d pages", cid, maxMessagePages)
}
