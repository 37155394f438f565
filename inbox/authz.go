package inbox

// Authorization rules, as pure functions called from one place each.

// CanViewJournal reports whether u may watch the unified journal.
func CanViewJournal(u *User) bool { return u.Role.IsAdmin() }

// ServesQueue reports whether u serves queue q (no queues: all of them).
func ServesQueue(u *User, q string) bool {
	if len(u.Queues) == 0 {
		return true
	}
	for _, s := range u.Queues {
		if s == q {
			return true
		}
	}
	return false
}

// CanView reports whether u may see conversation c: owners and admins see
// everything; an agent sees the conversations it participates in and the
// unassigned ones of its queues.
func CanView(u *User, c *Conversation) bool {
	switch {
	case u.Role.IsAdmin():
		return true
	case c.HasParticipant(u.ID):
		return true
	case c.Status == StatusUnassigned:
		return ServesQueue(u, c.Queue)
	}
	return false
}

// CanAct reports whether u may attempt an action on c at all; the state
// machine (Decide) then says whether the action applies (a reply to a
// colleague's conversation is a conflict: join first). Agents may act on
// the conversations of their queues, also those a colleague handles, which
// they do not see in their lists; other queues' conversations are hidden.
func CanAct(u *User, c *Conversation) bool {
	return CanView(u, c) || ServesQueue(u, c.Queue)
}

// CanManageUsers reports whether u may add or change users.
func CanManageUsers(u *User) bool { return u.Role == RoleOwner || u.Role == RoleAdmin }
