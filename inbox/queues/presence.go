package queues

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
)

// Why a presence changed, in presence.changed events.
const (
	ByManual   = "manual"
	BySchedule = "schedule"
	ByIdle     = "idle"
)

// presenceOf is the presence an agent should have at now, and the manual
// choice to record with it when idleness switched it off: idleness sticks
// (an agent who went idle comes back by saying so, not by a stray API
// call), until the agent's next business-hours transition.
func (m *Manager) presenceOf(a *Agent, now time.Time) (inbox.Presence, *Manual, string) {
	ah, err := hours.ParseAgentHours(a.Hours)
	if err != nil {
		m.log.Warn("agent hours are invalid; ignored", "user_id", a.User.ID, "err", err)
		ah = hours.AgentHours{}
	}
	st := hours.AgentState{Manual: a.Manual.Presence, ManualAt: a.Manual.At, LastActivity: a.LastSeenAt}
	if st.Manual == "" {
		// No choice recorded (a user created with a presence): what is
		// stored counts as the choice.
		st.Manual, st.ManualAt = a.User.Presence, time.Time{}
	}
	scheduled := hours.ScheduledPresence(ah.Schedule, st.Manual, st.ManualAt, now)
	p := hours.PresenceAt(ah, st, now, m.o.IdleAfter)
	if p == inbox.PresenceOffline && scheduled != inbox.PresenceOffline && scheduled != "" {
		return p, &Manual{Presence: inbox.PresenceOffline, At: now}, ByIdle
	}
	return p, nil, BySchedule
}

// PresenceTick switches agents by their business hours and idleness.
func (m *Manager) PresenceTick(ctx context.Context) error {
	agents, err := m.o.Store.Agents(ctx)
	if err != nil {
		return err
	}
	now := m.o.Clock.Now()
	var firstErr error
	for i := range agents {
		a := &agents[i]
		p, manual, by := m.presenceOf(a, now)
		if p == a.User.Presence {
			continue
		}
		if err := m.savePresence(ctx, &a.User, p, manual, by, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (m *Manager) savePresence(ctx context.Context, u *inbox.User, p inbox.Presence, manual *Manual, by string, now time.Time) error {
	payload, _ := json.Marshal(map[string]any{"user_id": u.ID, "name": u.Name, "status": p, "by": by})
	evs := []inbox.Event{{Kind: inbox.EventPresenceChanged, Participants: []int64{u.ID}, Payload: payload, CreatedAt: now}}
	if err := m.o.Store.SavePresence(ctx, u.ID, p, manual, evs); err != nil {
		return err
	}
	m.log.Info("presence changed", "user_id", u.ID, "status", string(p), "by", by)
	m.publish(evs)
	if p.Available() {
		// Back at the console: the agent sees the conversations itself.
		m.batcher.Drop(u.ID)
	}
	return nil
}

// PresenceChanged records a status the user set (PUT /api/v1/me/status):
// it wins over business hours until their next transition, and is
// published to the live feed.
func (m *Manager) PresenceChanged(ctx context.Context, u *inbox.User, p inbox.Presence) error {
	if !p.Valid() {
		return inbox.Invalid("status", "must be online, offline or invisible")
	}
	now := m.o.Clock.Now()
	return m.savePresence(ctx, u, p, &Manual{Presence: p, At: now}, ByManual, now)
}

// HoursView is an agent's business hours as GET|PUT /api/v1/me/hours
// exchange them; empty open and close mean none.
type HoursView struct {
	Timezone string `json:"timezone"`
	Open     string `json:"open"`
	Close    string `json:"close"`
	// Read only: the hours in words and the next switch.
	Hours        string     `json:"hours,omitempty"`
	NextChangeAt *time.Time `json:"next_change_at,omitempty"`
}

// AgentHours returns u's business hours.
func (m *Manager) AgentHours(ctx context.Context, u *inbox.User) (HoursView, error) {
	a, err := m.agent(ctx, u.ID)
	if err != nil {
		return HoursView{}, err
	}
	return m.hoursView(a.Hours), nil
}

func (m *Manager) hoursView(c hours.Config) HoursView {
	v := HoursView{Timezone: c.Timezone, Open: c.Open, Close: c.Close}
	if ah, err := hours.ParseAgentHours(c); err == nil && ah.Enabled() {
		v.Hours = ah.Schedule.Describe()
		if n := ah.Schedule.NextChange(m.o.Clock.Now()); !n.IsZero() {
			n = n.UTC()
			v.NextChangeAt = &n
		}
	}
	return v
}

// SetAgentHours validates and stores u's business hours; errors name the
// field (timezone, open, close).
func (m *Manager) SetAgentHours(ctx context.Context, u *inbox.User, v HoursView) (HoursView, error) {
	c := hours.Config{Timezone: strings.TrimSpace(v.Timezone), Open: strings.TrimSpace(v.Open), Close: strings.TrimSpace(v.Close)}
	if _, err := hours.ParseAgentHours(c); err != nil {
		return HoursView{}, hoursError(err)
	}
	if err := m.o.Store.SetAgentHours(ctx, u.ID, c); err != nil {
		return HoursView{}, err
	}
	return m.hoursView(c), nil
}

// hoursError turns hours.Parse's "hours.open: ..." into an invalid-input
// error naming the API field.
func hoursError(err error) error {
	field, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return inbox.Invalid("hours", "%s", err.Error())
	}
	return inbox.Invalid(strings.TrimPrefix(field, "hours."), "%s", msg)
}

var errNoMailer = errors.New("notifications.smtp is not configured")
