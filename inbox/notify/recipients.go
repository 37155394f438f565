package notify

import (
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// DefaultSlowAfter is queue.slow_after's default.
const DefaultSlowAfter = 2 * time.Minute

// Agent is a candidate recipient: a user with its current presence (as
// computed by hours.PresenceAt) and its settings.
type Agent struct {
	User     *inbox.User
	Settings Settings
}

// Event is what happened, as far as deciding recipients needs it.
type Event struct {
	Kind  Kind
	Queue string
	// Participants of the conversation (MyConversation); the assignee
	// (Assigned); the colleagues mentioned (Mention).
	Participants []int64
	// ActorID is the agent who caused the event, never told about it
	// (0 for a customer).
	ActorID int64
	// WaitingSince is when an unassigned chat started waiting (NewChat,
	// SlowChat).
	WaitingSince time.Time
}

// Plan says who is told, and how. Each agent appears at most once per list.
type Plan struct {
	// InApp agents get a live-feed notification now.
	InApp []*inbox.User
	// Email agents get an email now, composed with Compose(ev.Kind, ...).
	Email []*inbox.User
	// Missed agents are offline and want missed messages by email: add the
	// message to the Batcher, which mails one transcript later.
	Missed []*inbox.User
}

// Empty reports whether nobody is told anything.
func (p Plan) Empty() bool { return len(p.InApp)+len(p.Email)+len(p.Missed) == 0 }

// Recipients decides who hears about ev at now:
//
//   - only agents concerned: for MyConversation the participants, for the
//     other kinds the agents serving ev.Queue (inbox.ServesQueue); never
//     the actor.
//   - NewChat: online agents by their new_chat setting; invisible agents
//     only with invisible_slow_chats once the chat has waited slowAfter
//     (DefaultSlowAfter when not positive); offline agents by their
//     missed_while_offline setting, its email batched (Missed).
//   - SlowChat (raised once a chat has waited slow_after; checked against
//     ev.WaitingSince): only invisible agents with invisible_slow_chats, by
//     their new_chat setting. Online
//     agents were told at NewChat, offline ones got it as missed.
//   - MyConversation: online and invisible participants by their
//     my_conversation setting; offline ones by missed_while_offline.
//   - Assigned and Mention: the assignee, the colleagues mentioned
//     (ev.Participants), whatever their presence, by their assigned and
//     mention settings: a hand-over or a question waits for them.
//   - RegisteredContact: everyone serving the queue whatever their
//     presence, by their registered_contact setting: contact forms are
//     mostly filled in when nobody is there.
//
// Email is only planned for agents with an address.
func Recipients(ev Event, agents []Agent, now time.Time, slowAfter time.Duration) Plan {
	if slowAfter <= 0 {
		slowAfter = DefaultSlowAfter
	}
	slow := !ev.WaitingSince.IsZero() && now.Sub(ev.WaitingSince) >= slowAfter
	var p Plan
	for _, a := range agents {
		if a.User == nil || a.User.ID == ev.ActorID || !concerned(ev, a.User) {
			continue
		}
		via, batched := decide(ev.Kind, a, slow)
		if via.InApp {
			p.InApp = append(p.InApp, a.User)
		}
		if via.Email && a.User.Email != "" {
			if batched {
				p.Missed = append(p.Missed, a.User)
			} else {
				p.Email = append(p.Email, a.User)
			}
		}
	}
	return p
}

// concerned reports whether u has anything to do with ev.
func concerned(ev Event, u *inbox.User) bool {
	if ev.Kind == MyConversation || ev.Kind == Assigned || ev.Kind == Mention {
		for _, id := range ev.Participants {
			if id == u.ID {
				return true
			}
		}
		return false
	}
	return inbox.ServesQueue(u, ev.Queue)
}

// decide returns how agent a hears about an event of kind k, and whether
// its email is batched into a transcript.
func decide(k Kind, a Agent, slow bool) (via Via, batched bool) {
	presence := a.User.Presence
	s := a.Settings
	switch k {
	case RegisteredContact:
		return s.RegisteredContact, false
	case Assigned:
		return s.Assigned, false
	case Mention:
		return s.Mention, false
	case NewChat:
		switch presence {
		case inbox.PresenceOnline:
			return s.NewChat, false
		case inbox.PresenceInvisible:
			if s.InvisibleSlowChats && slow {
				return s.NewChat, false
			}
			return Via{}, false
		}
		return s.MissedWhileOffline, true
	case SlowChat:
		if presence == inbox.PresenceInvisible && s.InvisibleSlowChats && slow {
			return s.NewChat, false
		}
		return Via{}, false
	case MyConversation:
		if presence.Available() {
			return s.MyConversation, false
		}
		return s.MissedWhileOffline, true
	}
	return Via{}, false
}
