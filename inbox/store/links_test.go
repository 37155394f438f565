package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/journal"
)

func (f *fixture) links(tickets *inbox.TicketOptions) *inbox.Links {
	return inbox.NewLinks(inbox.LinksOptions{Service: f.svc, Store: f.st, Tickets: tickets})
}

// lastLinksEvent is the newest published conversation.updated of conv
// that carries links.
func (f *fixture) lastLinksEvent(conv int64) []inbox.Link {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.events) - 1; i >= 0; i-- {
		e := f.events[i]
		if e.Kind != inbox.EventConversationUpdated || e.ConversationID != conv {
			continue
		}
		var p struct {
			Links *[]inbox.Link `json:"links"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			f.t.Fatal(err)
		}
		if p.Links != nil {
			return *p.Links
		}
	}
	f.t.Fatalf("no conversation.updated with links for %d", conv)
	return nil
}

func TestLinksAddListDelete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ls := f.links(nil)
		r := f.ingest("crm", "m1", "c1", "my order is late")
		other := f.ingest("crm", "m2", "c2", "another")
		f.tick()
		l, err := ls.Add(ctx, f.anna, r.ConversationID, inbox.LinkInput{URL: " https://jira.example.com/browse/SUP-1 ", Title: "SUP-1", System: "jira"})
		if err != nil {
			t.Fatalf("add: %v", err)
		}
		if l.ID == 0 || l.URL != "https://jira.example.com/browse/SUP-1" || l.CreatedBy == nil || l.CreatedBy.ID != f.anna.ID ||
			!l.CreatedAt.Equal(f.now) {
			t.Fatalf("added link: %+v", l)
		}
		// The same URL twice is a conflict naming the field.
		_, err = ls.Add(ctx, f.bob, r.ConversationID, inbox.LinkInput{URL: "https://jira.example.com/browse/SUP-1"})
		var ie *inbox.Error
		if !errors.As(err, &ie) || ie.Code != inbox.EConflict || ie.Field != "url" {
			t.Fatalf("duplicate: %v", err)
		}
		// Another queue's agent does not learn the conversation exists.
		sam := f.user("sam@example.com", "Sam", inbox.RoleAgent, []string{"sales"})
		if _, err := ls.Add(ctx, sam, r.ConversationID, inbox.LinkInput{URL: "https://x.example/1"}); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("other queue add: %v", err)
		}
		if _, err := f.j.Links(ctx, sam, r.ConversationID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("other queue read: %v", err)
		}
		l2, err := ls.Add(ctx, f.owner, r.ConversationID, inbox.LinkInput{URL: "https://tasks.example.com/42"})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.lastLinksEvent(r.ConversationID); len(got) != 2 || got[0].ID != l.ID || got[1].ID != l2.ID {
			t.Fatalf("event links: %+v", got)
		}

		// Journal items and the conversation carry the links.
		p, err := f.j.List(ctx, journal.Query{Viewer: f.owner})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64][]inbox.Link{}
		for _, it := range p.Items {
			if it.Links == nil {
				t.Fatalf("item %d: links is nil (must be [])", it.ID)
			}
			byID[it.ID] = it.Links
		}
		if len(byID[r.ConversationID]) != 2 || byID[r.ConversationID][1].URL != "https://tasks.example.com/42" || len(byID[other.ConversationID]) != 0 {
			t.Fatalf("journal links: %+v", byID)
		}
		if d := f.conv(r.ConversationID); len(d.Links) != 2 || d.Links[0].Title != "SUP-1" || d.Links[0].System != "jira" {
			t.Fatalf("conversation links: %+v", d.Links)
		}
		b, _ := json.Marshal(p.Items)
		var raw []map[string]any
		json.Unmarshal(b, &raw)
		for _, it := range raw {
			if _, ok := it["links"]; !ok {
				t.Fatalf("journal item JSON without links: %v", it)
			}
		}

		// Delete: 404 for a link of another conversation, then gone.
		if err := ls.Delete(ctx, f.anna, other.ConversationID, l.ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("delete through another conversation: %v", err)
		}
		if err := ls.Delete(ctx, f.anna, r.ConversationID, l.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := ls.Delete(ctx, f.anna, r.ConversationID, l.ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("delete again: %v", err)
		}
		if got := f.lastLinksEvent(r.ConversationID); len(got) != 1 || got[0].ID != l2.ID {
			t.Fatalf("event links after delete: %+v", got)
		}
		got, err := f.j.Links(ctx, f.anna, r.ConversationID)
		if err != nil || len(got) != 1 || got[0].ID != l2.ID {
			t.Fatalf("links after delete: %+v %v", got, err)
		}

		// One activity entry per change, with who and what.
		acts, err := f.st.ConversationActivities(ctx, r.ConversationID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, a := range acts {
			switch a.Kind {
			case inbox.ActivityLinked, inbox.ActivityUnlinked:
				kinds = append(kinds, fmt.Sprintf("%s:%s:%s", a.Kind, a.ActorName, a.Data["url"]))
			}
		}
		want := []string{"linked:Anna:https://jira.example.com/browse/SUP-1", "linked:Olga:https://tasks.example.com/42",
			"unlinked:Anna:https://jira.example.com/browse/SUP-1"}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Fatalf("activities %v, want %v", kinds, want)
		}
		// Events are stored too (the feeds' replay): the stored payload
		// carries the links.
		evs, err := f.st.EventsSince(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		stored := 0
		for _, e := range evs {
			if e.Kind == inbox.EventConversationUpdated && e.ConversationID == r.ConversationID && json.Valid(e.Payload) &&
				string(e.Payload) != "" && containsLinks(e.Payload) {
				stored++
			}
		}
		if stored != 3 {
			t.Fatalf("stored link events: %d, want 3", stored)
		}
	})
}

func containsLinks(payload []byte) bool {
	var p map[string]json.RawMessage
	_ = json.Unmarshal(payload, &p)
	_, ok := p["links"]
	return ok
}

func TestLinksLimitAndRaces(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ls := f.links(nil)
		r := f.ingest("crm", "m1", "c1", "hello")
		// Concurrent adds of one URL: one link, the others conflicts.
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = ls.Add(ctx, f.owner, r.ConversationID, inbox.LinkInput{URL: "https://x.example/same"})
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case inbox.ErrorCode(err) != inbox.EConflict:
				t.Fatalf("concurrent add: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent adds of one URL succeeded, want 1", ok)
		}
		// Concurrent adds up to and past the limit: never more than it.
		errs = make([]error, inbox.MaxLinksPerConversation+5)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = ls.Add(ctx, f.owner, r.ConversationID, inbox.LinkInput{URL: fmt.Sprintf("https://x.example/%d", i)})
			}(i)
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if err != nil {
				if inbox.ErrorCode(err) != inbox.EConflict {
					t.Fatalf("add past the limit: %v", err)
				}
				refused++
			}
		}
		got, err := f.j.Links(ctx, f.owner, r.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != inbox.MaxLinksPerConversation || refused != 6 {
			t.Fatalf("%d links stored, %d refused; want %d stored", len(got), refused, inbox.MaxLinksPerConversation)
		}
	})
}

// fakeTickets is a ticket system: it records requests and answers what
// it is told.
type fakeTickets struct {
	mu   sync.Mutex
	reqs []inbox.TicketRequest
	ref  inbox.TicketRef
	err  error
}

func (t *fakeTickets) CreateTicket(ctx context.Context, r inbox.TicketRequest) (inbox.TicketRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reqs = append(t.reqs, r)
	return t.ref, t.err
}

func TestCreateTicket(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sys := &fakeTickets{err: inbox.Errorf(inbox.EUpstream, "the ticket system answered 500")}
		ls := f.links(&inbox.TicketOptions{Creator: sys, Source: f.st, Label: "Open a ticket", System: "helpdesk",
			PublicURL: "https://inbox.example.com/"})
		r := f.ingest("crm", "m1", "c1", "my order is late")
		f.tick()
		if _, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "looking into it"); err != nil {
			t.Fatal(err)
		}
		if ls.TicketLabel() != "Open a ticket" || f.links(nil).TicketLabel() != "" {
			t.Fatal("ticket label")
		}
		// Not configured: a conflict, nothing sent.
		if _, _, err := f.links(nil).CreateTicket(ctx, f.anna, r.ConversationID); inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("unconfigured: %v", err)
		}
		// The system fails: upstream, nothing stored.
		_, _, err := ls.CreateTicket(ctx, f.anna, r.ConversationID)
		if inbox.ErrorCode(err) != inbox.EUpstream || inbox.ErrorMessage(err) != "the ticket system answered 500" {
			t.Fatalf("failing system: %v", err)
		}
		if got, _ := f.j.Links(ctx, f.owner, r.ConversationID); len(got) != 0 {
			t.Fatalf("a failure stored %+v", got)
		}
		// An unreachable system (a plain error) is upstream too, without
		// its text.
		sys.err = errors.New("dial tcp 10.1.2.3:443: secret detail")
		if _, _, err := ls.CreateTicket(ctx, f.anna, r.ConversationID); inbox.ErrorCode(err) != inbox.EUpstream ||
			inbox.ErrorMessage(err) != "the ticket system could not be reached" {
			t.Fatalf("unreachable: %v", err)
		}
		// A colleague of the queue who does not see it (Anna's active
		// chat) may not send its transcript away.
		if _, _, err := ls.CreateTicket(ctx, f.bob, r.ConversationID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("bob: %v", err)
		}
		// A private note stays out of the transcript; the tags go with it.
		if _, err := f.svc.AddNote(ctx, f.anna, r.ConversationID, inbox.NoteRequest{Text: "customer seems upset"}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`INSERT INTO tags (id, name, color, created_at) VALUES (900, 'vip', '#000000', ?)`,
			`INSERT INTO conversation_tags (conversation_id, tag_id, last_activity_at) VALUES (?, 900, ?)`} {
			args := []any{f.now}
			if strings.Contains(q, "conversation_tags") {
				args = []any{r.ConversationID, f.now}
			}
			if err := f.st.DB().Exec(q, args...).Error; err != nil {
				t.Fatal(err)
			}
		}
		// The retry works and stores the answer as a link.
		sys.err, sys.ref = nil, inbox.TicketRef{URL: "https://desk.example.com/t/77", ID: "77", Title: "Late order"}
		l, created, err := ls.CreateTicket(ctx, f.anna, r.ConversationID)
		if err != nil || !created {
			t.Fatalf("retry: %v %v", created, err)
		}
		if l.URL != sys.ref.URL || l.ExternalID != "77" || l.Title != "Late order" || l.System != "helpdesk" {
			t.Fatalf("ticket link: %+v", l)
		}
		req := sys.reqs[len(sys.reqs)-1]
		if req.ConsoleURL != fmt.Sprintf("https://inbox.example.com/conversations/%d", r.ConversationID) ||
			req.Contact == nil || req.Contact.ExternalID != "c1" || req.RequestedBy.ID != f.anna.ID ||
			req.Conversation.ID != r.ConversationID || req.Conversation.Channel.ID != "crm" || req.TranscriptTruncated {
			t.Fatalf("request: %+v", req)
		}
		if len(req.Transcript) != 2 || req.Transcript[0].Text != "my order is late" || req.Transcript[1].Text != "looking into it" {
			t.Fatalf("transcript: %+v", req.Transcript)
		}
		if fmt.Sprint(req.Tags) != "[vip]" {
			t.Fatalf("tags: %v", req.Tags)
		}
		// The same ticket answered again: the existing link, not a second.
		l2, created, err := ls.CreateTicket(ctx, f.anna, r.ConversationID)
		if err != nil || created || l2.ID != l.ID {
			t.Fatalf("same ticket again: %+v %v %v", l2, created, err)
		}
		// An answer that is no link (javascript:) is refused as upstream.
		sys.ref = inbox.TicketRef{URL: "javascript:alert(1)", ID: "78"}
		if _, _, err := ls.CreateTicket(ctx, f.anna, r.ConversationID); inbox.ErrorCode(err) != inbox.EUpstream {
			t.Fatalf("bad answer: %v", err)
		}
		if got, _ := f.j.Links(ctx, f.owner, r.ConversationID); len(got) != 1 {
			t.Fatalf("links: %+v", got)
		}
		// A full conversation is refused before the system is called: no
		// ticket is made that could not be linked.
		for i := 1; i < inbox.MaxLinksPerConversation; i++ {
			if _, err := ls.Add(ctx, f.owner, r.ConversationID, inbox.LinkInput{URL: fmt.Sprintf("https://x.example/%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		calls := len(sys.reqs)
		sys.ref = inbox.TicketRef{URL: "https://desk.example.com/t/99", ID: "99"}
		if _, _, err := ls.CreateTicket(ctx, f.anna, r.ConversationID); inbox.ErrorCode(err) != inbox.EConflict || len(sys.reqs) != calls {
			t.Fatalf("full conversation: %v, %d calls", err, len(sys.reqs)-calls)
		}
	})
}

// countingReader counts the journal's link reads.
type countingReader struct {
	*store.Store
	calls int
}

func (c *countingReader) LinksOf(ctx context.Context, ids []int64) (map[int64][]inbox.Link, error) {
	c.calls++
	return c.Store.LinksOf(ctx, ids)
}

// TestJournalLinksOneReadPerPage: a page's links are read once for the
// whole page (one query: store.LinksOf), not once per conversation.
func TestJournalLinksOneReadPerPage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ls := f.links(nil)
		want := map[int64]int{}
		for i := range 12 {
			r := f.ingest("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i), "hello")
			for k := range i % 3 {
				if _, err := ls.Add(ctx, f.owner, r.ConversationID, inbox.LinkInput{URL: fmt.Sprintf("https://x.example/%d/%d", i, k)}); err != nil {
					t.Fatal(err)
				}
			}
			want[r.ConversationID] = i % 3
		}
		cr := &countingReader{Store: f.st}
		j := journal.New(cr, channels)
		p, err := j.List(ctx, journal.Query{Viewer: f.owner, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if cr.calls != 1 || len(p.Items) != 10 {
			t.Fatalf("%d link reads for a page of %d", cr.calls, len(p.Items))
		}
		for _, it := range p.Items {
			if len(it.Links) != want[it.ID] {
				t.Errorf("conversation %d: %d links, want %d", it.ID, len(it.Links), want[it.ID])
			}
			for _, l := range it.Links {
				if l.ConversationID != it.ID {
					t.Errorf("conversation %d shows a link of %d", it.ID, l.ConversationID)
				}
			}
		}
	})
}
