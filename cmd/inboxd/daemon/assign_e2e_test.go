package daemon_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of assignment, transfer and private notes:
// black-box through the API, the webhook callback, the widget and the
// notification mails.

type noteView struct {
	ID        int64
	Kind      string
	Direction string
	Text      string
	Author    *struct {
		ID   int64
		Name string
	}
	Mentions []struct {
		ID   int64
		Name string
	}
}

func (e *qEnv) listIDs(token, view string) []int64 {
	e.t.Helper()
	var p struct{ Items []item }
	if st := e.call("GET", "/api/v1/conversations?view="+view, token, nil, &p); st != 200 {
		e.t.Fatalf("list %s: %d", view, st)
	}
	var ids []int64
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

type apiErr struct {
	Error struct{ Code, Message, Field string }
}

// TestAssignAndTransferEndToEnd: take, hand over (the assignee notified
// in-app and by email, per its settings), the refusals that say why, and a
// transfer that hides the conversation from the first queue's agents and
// shows it to the second's.
func TestAssignAndTransferEndToEnd(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 10, 0)) // open
		e := startQ(t, dbURL, clock, sink, cb, true)
		e.setStatus(e.anna, "online")
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"assigned": map[string]bool{"in_app": true, "email": true}}, nil); st != 200 {
			t.Fatalf("bob's settings: %d", st)
		}
		id := e.send("crm", "m1", "c1", "I need help").ConversationID
		path := fmt.Sprintf("/api/v1/conversations/%d/assign", id)

		// Bad input: 400 naming the field.
		var ae apiErr
		for _, body := range []any{map[string]any{}, map[string]any{"user_id": e.ids["Bob"], "queue": "sales"},
			map[string]any{"queue": "nowhere"}, map[string]any{"user_id": 99999}} {
			if st := e.call("POST", path, e.anna, body, &ae); st != 400 || ae.Error.Field == "" {
				t.Fatalf("%v: %d %+v", body, st, ae)
			}
		}
		// Anna may not give someone else a chat she is not in; she takes it.
		if st := e.call("POST", path, e.anna, map[string]any{"user_id": e.ids["Bob"]}, &ae); st != 403 {
			t.Fatalf("anna gives bob an unassigned chat: %d %+v", st, ae)
		}
		var sum struct {
			Status, Queue string
			Participants  []struct{ ID int64 }
		}
		if st := e.call("POST", path, e.anna, map[string]any{"user_id": e.ids["Anna"]}, &sum); st != 200 || sum.Status != "active" ||
			len(sum.Participants) != 1 || sum.Participants[0].ID != e.ids["Anna"] {
			t.Fatalf("anna takes it: %d %+v", st, sum)
		}
		// 409s that say why.
		if st := e.call("POST", path, e.owner, map[string]any{"user_id": e.ids["Sam"]}, &ae); st != 409 ||
			!strings.Contains(ae.Error.Message, "Sam does not serve the queue") {
			t.Fatalf("assign to sam: %d %+v", st, ae)
		}
		if err := e.d.Store.DB().Exec(`UPDATE users SET deactivated_at = ? WHERE id = ?`, clock.Now(), e.ids["Olli"]).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.d.Store.DB().Exec(`UPDATE users SET queues = '' WHERE id = ?`, e.ids["Olli"]).Error; err != nil {
			t.Fatal(err)
		}
		if st := e.call("POST", path, e.owner, map[string]any{"user_id": e.ids["Olli"]}, &ae); st != 409 ||
			!strings.Contains(ae.Error.Message, "deactivated") {
			t.Fatalf("assign to deactivated olli: %d %+v", st, ae)
		}

		// Anna hands it to Bob: it leaves her list for his.
		if st := e.call("POST", path, e.anna, map[string]any{"user_id": e.ids["Bob"], "note": "Bob knows billing"}, &sum); st != 200 {
			t.Fatalf("hand over: %d", st)
		}
		if got := e.listIDs(e.bob, "mine"); !slices.Equal(got, []int64{id}) {
			t.Fatalf("bob's mine: %v", got)
		}
		if got := e.listIDs(e.anna, "mine"); len(got) != 0 {
			t.Fatalf("anna's mine: %v", got)
		}
		var jp struct{ Items []item }
		if st := e.call("GET", fmt.Sprintf("/api/v1/journal?agent=%d", e.ids["Bob"]), e.owner, nil, &jp); st != 200 || len(jp.Items) != 1 || jp.Items[0].ID != id {
			t.Fatalf("journal ?agent=bob: %d %+v", st, jp)
		}
		qWait(t, "bob's assigned notification", func() bool { return slices.Contains(e.notifications(e.bob), "assigned") })
		mails := e.waitMails("bob@example.com", 1)
		if mails[0].header.Get("X-Inboxd-Notification") != "assigned" || !strings.HasPrefix(mails[0].header.Get("Subject"), "Assigned to you: #") {
			t.Fatalf("assigned mail: %v", mails[0].header)
		}
		if slices.Contains(e.notifications(e.anna), "assigned") {
			t.Fatal("the actor was told of its own hand-over")
		}
		acts := e.activities("support", "assigned")
		last := acts[len(acts)-1]
		if last.Data["from"] != "Anna" || last.Data["to"] != "Bob" {
			t.Fatalf("assigned activity: %+v", last)
		}

		// Bob transfers it to sales: support's agents lose it, sales' get it.
		if got := e.listIDs(e.sales, "queue"); slices.Contains(got, id) {
			t.Fatalf("sam sees it before the transfer: %v", got)
		}
		if st := e.call("POST", path, e.bob, map[string]any{"queue": "sales"}, &sum); st != 200 || sum.Queue != "sales" ||
			sum.Status != "unassigned" || len(sum.Participants) != 0 {
			t.Fatalf("transfer: %d %+v", st, sum)
		}
		for name, tok := range map[string]string{"anna": e.anna, "bob": e.bob} {
			if st, _ := e.conversation(tok, id); st != 404 {
				t.Errorf("%s still reaches the transferred conversation: %d", name, st)
			}
			if got := e.listIDs(tok, "queue"); slices.Contains(got, id) {
				t.Errorf("%s's queue view lists it: %v", name, got)
			}
		}
		if got := e.listIDs(e.sales, "queue"); !slices.Contains(got, id) {
			t.Fatalf("sam's queue view: %v", got)
		}
		if st, _ := e.conversation(e.sales, id); st != 200 {
			t.Fatalf("sam reaches it: %d", st)
		}
		if acts := e.activities("sales", "transferred"); len(acts) != 1 || acts[0].Data["from_queue"] != "support" || acts[0].Data["to_queue"] != "sales" {
			t.Fatalf("transferred activity: %+v", acts)
		}
	})
}

// TestNotesNeverReachTheChannel: a note (with a mention, which notifies)
// is in the staff API with kind "note", and absent from the webhook
// callback, the outbox, the widget's message list and feed, and the
// emailed transcript of missed messages.
func TestNotesNeverReachTheChannel(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 10, 0)) // open
		e := startQ(t, dbURL, clock, sink, cb, true)
		e.setStatus(e.anna, "online")
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"mention": map[string]bool{"in_app": true, "email": true}}, nil); st != 200 {
			t.Fatalf("bob's settings: %d", st)
		}
		// Webhook channel: a note, then a reply; only the reply is called back.
		id := e.send("crm", "m1", "c1", "Hello?").ConversationID
		notes := fmt.Sprintf("/api/v1/conversations/%d/notes", id)
		var n noteView
		if st := e.call("POST", notes, e.anna, map[string]any{"text": "SECRET-NOTE-1 @Bob look", "mentions": []int64{e.ids["Bob"]}}, &n); st != 201 ||
			n.Kind != "note" || n.Author == nil || n.Author.Name != "Anna" || len(n.Mentions) != 1 || n.Mentions[0].Name != "Bob" {
			t.Fatalf("note: %d %+v", st, n)
		}
		// Writing a note did not take the conversation.
		if _, c := e.conversation(e.owner, id); c.Status != "unassigned" || len(c.Participants) != 0 {
			t.Fatalf("after the note: %+v", c)
		}
		var ae apiErr
		for _, body := range []any{map[string]any{"text": ""}, map[string]any{"text": "x", "mentions": []int64{e.ids["Sam"]}},
			map[string]any{"text": "x", "mentions": []int64{424242}}} {
			if st := e.call("POST", notes, e.anna, body, &ae); st != 400 {
				t.Fatalf("%v: %d %+v", body, st, ae)
			}
		}
		if st := e.call("POST", notes, e.sales, map[string]any{"text": "x"}, &ae); st != 404 {
			t.Fatalf("another queue's agent writes a note: %d", st)
		}
		qWait(t, "bob's mention notification", func() bool { return slices.Contains(e.notifications(e.bob), "mention") })
		mails := e.waitMails("bob@example.com", 1)
		if mails[0].header.Get("X-Inboxd-Notification") != "mention" || !strings.Contains(mails[0].body, "SECRET-NOTE-1") {
			t.Fatalf("mention mail: %v\n%s", mails[0].header, mails[0].body)
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), e.anna, map[string]string{"text": "PUBLIC-REPLY-1"}, nil); st != 201 {
			t.Fatalf("reply: %d", st)
		}
		qWait(t, "the reply's callback", func() bool {
			for _, h := range cb.hits() {
				if strings.Contains(string(h.body), "PUBLIC-REPLY-1") {
					return true
				}
			}
			return false
		})
		// A note after the reply, then another reply: the callback still
		// sees replies only.
		e.call("POST", notes, e.anna, map[string]any{"text": "SECRET-NOTE-2"}, nil)
		e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), e.anna, map[string]string{"text": "PUBLIC-REPLY-2"}, nil)
		qWait(t, "the second reply's callback", func() bool {
			for _, h := range cb.hits() {
				if strings.Contains(string(h.body), "PUBLIC-REPLY-2") {
					return true
				}
			}
			return false
		})
		for _, h := range cb.hits() {
			if strings.Contains(string(h.body), "SECRET-NOTE") {
				t.Fatalf("a note reached the webhook callback: %s", h.body)
			}
		}
		var inOutbox int64
		if err := e.d.Store.DB().Raw(`SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE m.kind = 'note'`).Scan(&inOutbox).Error; err != nil || inOutbox != 0 {
			t.Fatalf("notes in the outbox: %d %v", inOutbox, err)
		}
		var staff struct{ Items []noteView }
		if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", id), e.owner, nil, &staff); st != 200 {
			t.Fatalf("messages: %d", st)
		}
		var kinds []string
		for _, m := range staff.Items {
			kinds = append(kinds, m.Kind)
		}
		if strings.Join(kinds, ",") != "message,note,message,note,message" {
			t.Fatalf("staff messages' kinds: %v", kinds)
		}

		// Widget: neither the message list nor the live feed carries a note.
		tok := e.visitor("site", nil)
		wr, posted := e.widgetPost("site", tok, "client-0001", "Widget hello")
		if wr.status != 201 {
			t.Fatalf("widget post: %d %s", wr.status, wr.body)
		}
		wid := convID(t, e.env, posted.Conversation)
		feed := e.widgetFeed("site", tok, "")
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/notes", wid), e.anna, map[string]any{"text": "SECRET-WIDGET-NOTE"}, nil); st != 201 {
			t.Fatalf("widget note: %d", st)
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", wid), e.anna, map[string]string{"text": "Widget answer"}, nil); st != 201 {
			t.Fatalf("widget reply: %d", st)
		}
		for {
			ev := feed.next(t, "message")
			if strings.Contains(ev.data, "SECRET") {
				t.Fatalf("a note reached the widget feed: %s", ev.data)
			}
			if strings.Contains(ev.data, "Widget answer") {
				break
			}
		}
		_, h := e.widgetHistory("site", tok, "")
		if len(h.Items) != 2 || h.Items[0].Text != "Widget hello" || h.Items[1].Text != "Widget answer" {
			t.Fatalf("widget history: %+v", h.Items)
		}

		// Transcript: Anna goes offline; a note and customer messages
		// arrive; her transcript has the customer's, not the note.
		e.setStatus(e.anna, "offline")
		clock.add(10 * time.Second)
		e.send("crm", "m2", "c1", "CUSTOMER-MISSED-1")
		e.call("POST", notes, e.bob, map[string]any{"text": "SECRET-NOTE-3", "mentions": []int64{}}, nil)
		clock.add(10 * time.Second)
		e.send("crm", "m3", "c1", "CUSTOMER-MISSED-2")
		time.Sleep(1500 * time.Millisecond)
		clock.add(6 * time.Minute)
		var transcript *qMail
		qWait(t, "anna's transcript", func() bool {
			for _, m := range sink.to("anna@example.com") {
				if strings.Contains(m.header.Get("Subject"), "missed") {
					transcript = &m
					return true
				}
			}
			return false
		})
		if !strings.Contains(transcript.body, "CUSTOMER-MISSED-2") || strings.Contains(transcript.body, "SECRET-NOTE") {
			t.Fatalf("transcript:\n%s", transcript.body)
		}
	})
}
