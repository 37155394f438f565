package inbox

import (
	"slices"
	"time"
)

// Role is a user's role. Owners and admins see every conversation; agents
// see their own and the unassigned ones of their queues.
type Role string

// Roles.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleAgent }

// IsAdmin reports whether r is owner or admin.
func (r Role) IsAdmin() bool { return r == RoleOwner || r == RoleAdmin }

// Presence is an agent's availability.
type Presence string

// Presences.
const (
	PresenceOnline    Presence = "online"
	PresenceOffline   Presence = "offline"
	PresenceInvisible Presence = "invisible"
)

// Valid reports whether p is a known presence.
func (p Presence) Valid() bool { return slices.Contains(presences, p) }

// Available reports whether an agent with this presence can take part in
// conversations (invisible agents can, they only look offline to customers).
func (p Presence) Available() bool { return p == PresenceOnline || p == PresenceInvisible }

// presences lists every presence.
var presences = []Presence{PresenceOnline, PresenceOffline, PresenceInvisible}

// AvailablePresences lists the presences for which Available holds, for a
// store that selects available agents in a query.
func AvailablePresences() []Presence {
	var ps []Presence
	for _, p := range presences {
		if p.Available() {
			ps = append(ps, p)
		}
	}
	return ps
}

// User is a member of the support team.
type User struct {
	ID       int64
	Email    string
	Name     string
	Role     Role
	Presence Presence
	// Queues the user serves; empty means every queue.
	Queues    []string
	CreatedAt time.Time
	// Deactivated users can no longer be assigned or mentioned.
	Deactivated bool
	// TwoFactor: logins need a TOTP or recovery code (twofactor.go).
	TwoFactor bool
	// HasPassword: the account can log in with a password (single
	// sign-on accounts need not have one).
	HasPassword bool
}

// Status is a conversation's state.
type Status string

// Conversation states.
const (
	StatusUnassigned Status = "unassigned"
	StatusActive     Status = "active"
	StatusInactive   Status = "inactive"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusUnassigned || s == StatusActive || s == StatusInactive
}

// Open reports whether the conversation still takes customer messages
// without being reopened.
func (s Status) Open() bool { return s == StatusUnassigned || s == StatusActive }

// ChannelRef names a channel as shown to clients.
type ChannelRef struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Contact is one customer identity on one channel.
type Contact struct {
	ID         int64             `json:"id"`
	ChannelID  string            `json:"channel_id"`
	ExternalID string            `json:"external_id"`
	Name       string            `json:"name"`
	Username   string            `json:"username,omitempty"`
	Email      string            `json:"email,omitempty"`
	Phone      string            `json:"phone,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Participant is an agent in a conversation.
type Participant struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Conversation is a thread between one contact and the team on one channel.
type Conversation struct {
	ID        int64
	Number    int64
	Token     string // unguessable; used in reply addresses
	ChannelID string
	Queue     string
	ContactID int64
	Title     string
	Subject   string
	Status    Status
	OwnerID   int64 // 0: none
	// Participants are the agents in the conversation, owner first.
	Participants []Participant
	// Tags are the conversation's tag names, sorted; loaded by the read
	// side (journal) and by tag changes, not by every transaction.
	Tags           []string
	LastActivityAt time.Time
	LastInboundAt  time.Time
	// LastInboundID is the newest customer message's id (unread markers).
	LastInboundID int64
	LastMessageAt time.Time
	Preview       string
	ClosedAt      time.Time
	CreatedAt     time.Time
}

// HasParticipant reports whether user id takes part in c.
func (c *Conversation) HasParticipant(id int64) bool {
	for _, p := range c.Participants {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Direction of a message, seen from the team.
type Direction string

// Directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// Delivery is the delivery state of an outbound message.
type Delivery string

// Delivery states. Inbound messages have none ("").
const (
	DeliveryPending   Delivery = "pending"
	DeliverySent      Delivery = "sent"
	DeliveryDelivered Delivery = "delivered"
	DeliveryRead      Delivery = "read"
	DeliveryFailed    Delivery = "failed"
)

// Attachment is a file carried by a message. Inbound attachments either
// carry their bytes (Data, stored with the message) or a ProviderRef the
// channel can fetch on demand.
type Attachment struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	MIMEType    string `json:"mime_type"`
	Size        int64  `json:"size"`
	ProviderRef string `json:"-"`
	Data        []byte `json:"-"`
}

// Message is one inbound or outbound item of a conversation.
type Message struct {
	ID             int64
	ConversationID int64
	ChannelID      string
	Direction      Direction
	AuthorID       int64 // agent, for outbound
	AuthorName     string
	Text           string
	HTML           string
	Attachments    []Attachment
	ExternalID     string // provider's id of an inbound message
	ProviderID     string // provider's id of a sent outbound message
	Delivery       Delivery
	Error          string
	Auto           bool // inbound sent by a machine (auto-reply, bounce): never answered automatically
	Meta           map[string]string
	CreatedAt      time.Time
	EditedAt       time.Time
	// Kind is KindMessage ("" reads as it) or KindNote; Mentions are the
	// colleagues a note mentions.
	Kind     MessageKind
	Mentions []Participant
}

// ActivityKind names an activity log entry.
type ActivityKind string

// Activity kinds.
const (
	ActivityCreated  ActivityKind = "created"
	ActivityAssigned ActivityKind = "assigned"
	ActivityJoined   ActivityKind = "joined"
	ActivityLeft     ActivityKind = "left"
	ActivityClosed   ActivityKind = "closed"
	ActivityReopened ActivityKind = "reopened"
	ActivityEdited   ActivityKind = "edited"
)

// Activity is an entry of a queue's activity log.
type Activity struct {
	ID             int64             `json:"id"`
	Queue          string            `json:"queue"`
	Kind           ActivityKind      `json:"kind"`
	ConversationID int64             `json:"conversation_id,omitempty"`
	ActorID        int64             `json:"actor_id,omitempty"`
	ActorName      string            `json:"actor_name,omitempty"`
	Data           map[string]string `json:"data,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
}
