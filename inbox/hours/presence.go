package hours

import (
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// DefaultIdleAfter is presence.idle_after's default.
const DefaultIdleAfter = 15 * time.Minute

// AgentHours are an agent's business hours: the agent is switched online
// when they open and offline when they close. A zero AgentHours has none
// and leaves presence to the agent.
type AgentHours struct {
	Schedule *Schedule
}

// ParseAgentHours parses an agent's hours; a Config without open and close
// and without holidays gives no business hours (not "always online").
func ParseAgentHours(cfg Config) (AgentHours, error) {
	if cfg.Open == "" && cfg.Close == "" && len(cfg.Holidays) == 0 {
		return AgentHours{}, nil
	}
	s, err := Parse(cfg)
	if err != nil {
		return AgentHours{}, err
	}
	return AgentHours{Schedule: s}, nil
}

// Enabled reports whether the agent has business hours.
func (h AgentHours) Enabled() bool { return h.Schedule != nil }

// IdleOffline reports whether an agent whose last API or console activity
// was at lastActivity counts as offline at now: idle for idleAfter or longer
// (DefaultIdleAfter when idleAfter is not positive). A zero lastActivity is
// idle.
func IdleOffline(lastActivity, now time.Time, idleAfter time.Duration) bool {
	if idleAfter <= 0 {
		idleAfter = DefaultIdleAfter
	}
	return lastActivity.IsZero() || now.Sub(lastActivity) >= idleAfter
}

// ScheduledPresence combines business hours with the agent's own choice:
// manual changes win until the next transition. If the schedule changed
// state after manualAt (and at or before now), the schedule decides: online
// while open, offline while closed; otherwise the manual presence stands. A
// nil schedule always leaves the manual presence; a zero manualAt or an
// empty manual presence means no manual choice, so the schedule decides.
func ScheduledPresence(s *Schedule, manual inbox.Presence, manualAt, now time.Time) inbox.Presence {
	p, _ := scheduledPresence(s, manual, manualAt, now)
	return p
}

// scheduledPresence is ScheduledPresence plus the instant the presence took
// effect (zero when unknown).
func scheduledPresence(s *Schedule, manual inbox.Presence, manualAt, now time.Time) (inbox.Presence, time.Time) {
	if s == nil {
		return manual, manualAt
	}
	if manual == "" || manualAt.IsZero() {
		at, _ := s.lastChange(time.Time{}, now)
		return fromOpen(s.IsOpen(now)), at
	}
	if at, ok := s.lastChange(manualAt, now); ok {
		return fromOpen(s.IsOpen(now)), at
	}
	return manual, manualAt
}

func fromOpen(open bool) inbox.Presence {
	if open {
		return inbox.PresenceOnline
	}
	return inbox.PresenceOffline
}

// AgentState is what is stored about an agent's presence.
type AgentState struct {
	Manual       inbox.Presence // the last status the agent set; "" for none
	ManualAt     time.Time      // when it was set
	LastActivity time.Time      // the last API or console request
}

// PresenceAt is the agent's presence at now: ScheduledPresence, then the
// idle rule. An online or invisible agent without activity for idleAfter
// since the later of its last activity and the moment the presence took
// effect (a manual change or a scheduled switch) is offline. The idle rule
// is derived, not stored: the agent is back as soon as it is active again.
// A caller that wants idleness to stick records it as a manual change to
// offline at LastActivity+idleAfter.
func PresenceAt(h AgentHours, st AgentState, now time.Time, idleAfter time.Duration) inbox.Presence {
	p, since := scheduledPresence(h.Schedule, st.Manual, st.ManualAt, now)
	if p == "" {
		p = inbox.PresenceOffline
	}
	if p == inbox.PresenceOffline {
		return p
	}
	last := st.LastActivity
	if since.After(last) {
		last = since
	}
	if IdleOffline(last, now, idleAfter) {
		return inbox.PresenceOffline
	}
	return p
}
