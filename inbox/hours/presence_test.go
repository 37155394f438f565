package hours

import (
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestIdleOffline(t *testing.T) {
	now := utc(t, "2026-06-10 12:00")
	tests := []struct {
		last      time.Time
		idleAfter time.Duration
		want      bool
	}{
		{time.Time{}, 0, true}, // never active
		{now, 0, false},
		{now.Add(-14*time.Minute - 59*time.Second), 0, false}, // default 15 min
		{now.Add(-15 * time.Minute), 0, true},
		{now.Add(-15 * time.Minute), -time.Minute, true}, // non-positive: default
		{now.Add(-4 * time.Minute), 5 * time.Minute, false},
		{now.Add(-5 * time.Minute), 5 * time.Minute, true},
		{now.Add(-time.Hour), 2 * time.Hour, false},
	}
	for _, tt := range tests {
		if got := IdleOffline(tt.last, now, tt.idleAfter); got != tt.want {
			t.Errorf("IdleOffline(%s, %v) = %v, want %v", tt.last, tt.idleAfter, got, tt.want)
		}
	}
}

func TestScheduledPresence(t *testing.T) {
	s := mustParse(t, officeHours) // Mon–Fri 09–17 Helsinki; 2026-06-10 is a Wednesday
	var (
		on  = inbox.PresenceOnline
		off = inbox.PresenceOffline
		inv = inbox.PresenceInvisible
	)
	tests := []struct {
		name     string
		sched    *Schedule
		manual   inbox.Presence
		manualAt string
		now      string
		want     inbox.Presence
	}{
		{"no hours: manual", nil, inv, "2026-06-01 10:00", "2026-06-10 12:00", inv},
		{"offline in hours wins until close", s, off, "2026-06-10 10:00", "2026-06-10 16:59", off},
		{"online after hours wins until opening", s, on, "2026-06-10 18:00", "2026-06-11 08:59", on},
		{"the opening switches online", s, off, "2026-06-09 18:00", "2026-06-10 09:00", on},
		{"the closing switches offline", s, inv, "2026-06-10 10:00", "2026-06-10 17:00", off},
		{"invisible until the next transition", s, inv, "2026-06-10 10:00", "2026-06-10 16:00", inv},
		{"two transitions later: schedule state", s, on, "2026-06-10 18:00", "2026-06-11 17:30", off},
		{"manual at the transition instant wins", s, off, "2026-06-10 09:00", "2026-06-10 09:30", off},
		{"manual over a weekend", s, on, "2026-06-12 18:00", "2026-06-14 12:00", on},
		{"manual long ago", s, off, "2024-01-01 10:00", "2026-06-10 12:00", on},
		{"no manual choice: schedule", s, "", "", "2026-06-10 12:00", on},
		{"no manual choice, closed", s, "", "", "2026-06-13 12:00", off},
	}
	for _, tt := range tests {
		var manualAt time.Time
		if tt.manualAt != "" {
			manualAt = local(t, tt.manualAt)
		}
		if got := ScheduledPresence(tt.sched, tt.manual, manualAt, local(t, tt.now)); got != tt.want {
			t.Errorf("%s: ScheduledPresence = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseAgentHours(t *testing.T) {
	h, err := ParseAgentHours(Config{Timezone: "Europe/Helsinki"})
	if err != nil || h.Enabled() {
		t.Fatalf("no hours: %+v, %v", h, err)
	}
	h, err = ParseAgentHours(officeHours)
	if err != nil || !h.Enabled() || !h.Schedule.IsOpen(local(t, "2026-06-10 12:00")) {
		t.Fatalf("office hours: %+v, %v", h, err)
	}
	if _, err := ParseAgentHours(Config{Open: "0 9 * * *"}); err == nil {
		t.Fatal("open without close must fail")
	}
}

func TestPresenceAt(t *testing.T) {
	office := AgentHours{Schedule: mustParse(t, officeHours)}
	tests := []struct {
		name  string
		hours AgentHours
		st    AgentState
		now   string
		idle  time.Duration
		want  inbox.Presence
	}{
		{"online and active", AgentHours{}, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 08:00"), local(t, "2026-06-10 11:55")}, "2026-06-10 12:00", 0, inbox.PresenceOnline},
		{"online and idle", AgentHours{}, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 08:00"), local(t, "2026-06-10 11:40")}, "2026-06-10 12:00", 0, inbox.PresenceOffline},
		{"invisible and idle", AgentHours{}, AgentState{inbox.PresenceInvisible, local(t, "2026-06-10 08:00"), local(t, "2026-06-10 11:40")}, "2026-06-10 12:00", 0, inbox.PresenceOffline},
		{"idle_after configured", AgentHours{}, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 08:00"), local(t, "2026-06-10 11:40")}, "2026-06-10 12:00", time.Hour, inbox.PresenceOnline},
		{"the manual change is activity", AgentHours{}, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 11:50"), local(t, "2026-06-10 09:00")}, "2026-06-10 12:00", 0, inbox.PresenceOnline},
		{"offline stays offline", AgentHours{}, AgentState{inbox.PresenceOffline, local(t, "2026-06-10 11:50"), local(t, "2026-06-10 11:59")}, "2026-06-10 12:00", 0, inbox.PresenceOffline},
		{"never set", AgentHours{}, AgentState{}, "2026-06-10 12:00", 0, inbox.PresenceOffline},
		{"scheduled online, just opened", office, AgentState{inbox.PresenceOffline, local(t, "2026-06-09 17:30"), local(t, "2026-06-09 17:30")}, "2026-06-10 09:10", 0, inbox.PresenceOnline},
		{"scheduled online, nobody came", office, AgentState{inbox.PresenceOffline, local(t, "2026-06-09 17:30"), local(t, "2026-06-09 17:30")}, "2026-06-10 09:15", 0, inbox.PresenceOffline},
		{"scheduled online, active", office, AgentState{inbox.PresenceOffline, local(t, "2026-06-09 17:30"), local(t, "2026-06-10 11:59")}, "2026-06-10 12:00", 0, inbox.PresenceOnline},
		{"scheduled offline despite activity", office, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 10:00"), local(t, "2026-06-10 17:05")}, "2026-06-10 17:10", 0, inbox.PresenceOffline},
		{"manual online after hours, active", office, AgentState{inbox.PresenceOnline, local(t, "2026-06-10 18:00"), local(t, "2026-06-10 19:55")}, "2026-06-10 20:00", 0, inbox.PresenceOnline},
	}
	for _, tt := range tests {
		if got := PresenceAt(tt.hours, tt.st, local(t, tt.now), tt.idle); got != tt.want {
			t.Errorf("%s: PresenceAt = %q, want %q", tt.name, got, tt.want)
		}
	}
}
