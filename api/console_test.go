package api

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

var statChannels = []inbox.ChannelInfo{
	{ID: "crm", Kind: "webhook", Name: "CRM", Queue: "support"},
	{ID: "tg", Kind: "telegram", Name: "<Telegram>", Queue: "support"},
	{ID: "shop", Kind: "webhook", Name: "Shop", Queue: "sales"},
}

func TestComputeStats(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Helsinki")
	now := time.Date(2026, 3, 10, 1, 30, 0, 0, loc) // early morning: day boundaries are local
	from, to := statsRange(now, loc, 3)
	if want := time.Date(2026, 3, 8, 0, 0, 0, 0, loc); !from.Equal(want) || !to.Equal(want.AddDate(0, 0, 3)) {
		t.Fatalf("range %v..%v", from, to)
	}
	at := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, loc).UTC() }
	rows := []StatConversation{
		{ID: 1, ChannelID: "crm", Status: inbox.StatusInactive, CreatedAt: at(8, 0), FirstReplyAt: at(8, 0).Add(30 * time.Second)},
		{ID: 2, ChannelID: "crm", Status: inbox.StatusActive, CreatedAt: at(8, 23), FirstReplyAt: at(8, 23).Add(90 * time.Second)},
		{ID: 3, ChannelID: "tg", Status: inbox.StatusUnassigned, CreatedAt: at(10, 1)},
		{ID: 4, ChannelID: "gone", Status: inbox.StatusInactive, CreatedAt: at(9, 12), FirstReplyAt: at(9, 12).Add(10 * time.Minute)},
	}
	st := computeStats("support", rows, statChannels, loc, from, 3)
	if len(st.Days) != 3 || st.Days[0] != "2026-03-08" || st.Days[2] != "2026-03-10" {
		t.Fatalf("days %v", st.Days)
	}
	if st.Total != 4 || st.Answered != 3 || len(st.Channels) != 3 {
		t.Fatalf("stats %+v", st)
	}
	crm, tg, gone := st.Channels[0], st.Channels[1], st.Channels[2]
	if crm.ID != "crm" || crm.PerDay[0] != 2 || crm.Status[inbox.StatusActive] != 1 || crm.Status[inbox.StatusInactive] != 1 {
		t.Fatalf("crm %+v", crm)
	}
	if tg.PerDay[2] != 1 || tg.Kind != "telegram" || gone.Name != "gone" || gone.PerDay[1] != 1 {
		t.Fatalf("tg %+v gone %+v", tg, gone)
	}
	if fr := st.FirstResponse; fr.Median != 90 || fr.P90 != 600 || fr.Average != 240 {
		t.Fatalf("first response %+v", fr)
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ max, want int }{{0, 1}, {4, 1}, {5, 1}, {6, 2}, {10, 2}, {11, 5}, {25, 5}, {26, 10}, {49, 10}, {51, 20}, {900, 200}} {
		if got := niceStep(c.max); got != c.want {
			t.Errorf("niceStep(%d) = %d, want %d", c.max, got, c.want)
		}
	}
}

// TestStatsPageRenders draws the chart through the real template: bars
// stack per day, names are escaped, and an empty period says so.
func TestStatsPageRenders(t *testing.T) {
	from := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	rows := []StatConversation{
		{ID: 1, ChannelID: "crm", Status: inbox.StatusActive, CreatedAt: from.Add(time.Hour)},
		{ID: 2, ChannelID: "tg", Status: inbox.StatusActive, CreatedAt: from.Add(2 * time.Hour)},
		{ID: 3, ChannelID: "tg", Status: inbox.StatusActive, CreatedAt: from.Add(26 * time.Hour)},
	}
	st := computeStats("support", rows, statChannels, time.UTC, from, 3)
	ch := buildChart(st)
	if len(ch.Bars) != 3 || ch.Empty {
		t.Fatalf("bars %+v", ch.Bars)
	}
	// Day 1 stacks crm under tg: tg's bar sits on crm's.
	if ch.Bars[1].Y+ch.Bars[1].H != ch.Bars[0].Y {
		t.Fatalf("not stacked: %+v", ch.Bars[:2])
	}
	p := page{Title: "Statistics", Page: "stats", User: UserView{Name: "Olga"}, Admin: true,
		Queues: []ConsoleQueue{{ID: "support", Name: "Support"}},
		Data:   statsPage{Queue: ConsoleQueue{ID: "support", Name: "Support"}, Days: 3, Stats: st, Chart: ch}}
	var buf bytes.Buffer
	if err := consolePages()["stats"].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "<rect") != 3+2 || !strings.Contains(out, "&lt;Telegram&gt;") || strings.Contains(out, "<Telegram>") {
		t.Fatalf("stats page:\n%s", out)
	}
	p.Data = statsPage{Queue: ConsoleQueue{ID: "support"}, Days: 3, Stats: computeStats("support", nil, statChannels, time.UTC, from, 3)}
	p.Data = statsPage{Queue: ConsoleQueue{ID: "support"}, Days: 3, Stats: p.Data.(statsPage).Stats, Chart: buildChart(p.Data.(statsPage).Stats)}
	buf.Reset()
	if err := consolePages()["stats"].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No conversations in this period") {
		t.Fatal("empty chart not labelled")
	}
}

func TestEveryPageRenders(t *testing.T) {
	for name, tpl := range consolePages() {
		if name == "stats" {
			continue
		}
		entry, data, standalone := pageEntry(name), any(int64(7)), false
		switch name { // pages without the layout, with their own data
		case "login":
			data, standalone = loginPageData{SSOLabel: "Sign in with X"}, true
		case "sso_error":
			data, standalone = map[string]string{"Reason": "state_mismatch", "Message": "m"}, true
		case "invite":
			standalone = true
		}
		var buf bytes.Buffer
		p := page{Title: "T", Page: name, User: UserView{Name: "Olga", Role: inbox.RoleOwner, Status: inbox.PresenceOnline}, Admin: true, Data: data}
		if err := tpl.ExecuteTemplate(&buf, entry, p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if strings.Contains(buf.String(), "<script>") || strings.Contains(buf.String(), " style=") {
			t.Errorf("%s: inline script or style", name)
		}
		if !standalone && !strings.Contains(buf.String(), `<script src="/console/`+name+`.js"`) {
			t.Errorf("%s: page script missing", name)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/journal?status=active": "%2Fjournal%3Fstatus%3Dactive",
		"//evil.example/x":       "/",
		"/\\evil.example":        "/",
		"https://evil.example":   "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
