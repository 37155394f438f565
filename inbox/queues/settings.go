package queues

import (
	"context"
	"encoding/json"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/notify"
)

// NotificationSettings returns u's settings (the defaults until saved).
func (m *Manager) NotificationSettings(ctx context.Context, u *inbox.User) (notify.Settings, error) {
	a, err := m.agent(ctx, u.ID)
	if err != nil {
		return notify.Settings{}, err
	}
	s, err := notify.DecodeSettings([]byte(a.Settings), notify.DefaultSettings())
	if err != nil {
		// Stored by an older build in a shape this one refuses: start over.
		return notify.DefaultSettings(), nil
	}
	return s, nil
}

// SetNotificationSettings applies a PUT body over u's current settings
// (absent keys keep their values) and stores the result.
func (m *Manager) SetNotificationSettings(ctx context.Context, u *inbox.User, body []byte) (notify.Settings, error) {
	cur, err := m.NotificationSettings(ctx, u)
	if err != nil {
		return notify.Settings{}, err
	}
	s, err := notify.DecodeSettings(body, cur)
	if err != nil {
		return notify.Settings{}, err
	}
	b, _ := json.Marshal(s)
	if err := m.o.Store.SetNotificationSettings(ctx, u.ID, string(b)); err != nil {
		return notify.Settings{}, err
	}
	return s, nil
}

func (m *Manager) agent(ctx context.Context, id int64) (*Agent, error) {
	agents, err := m.o.Store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	for i := range agents {
		if agents[i].User.ID == id {
			return &agents[i], nil
		}
	}
	return nil, inbox.Errorf(inbox.ENotFound, "user not found")
}
