package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/notify"
)

// AccountOptions wires user management: the users
// list, invitations and password-reset links, deactivation, and the audit
// log's records of logins and token changes.
type AccountOptions struct {
	// Service changes users; nil leaves the routes out.
	Service AccountService
	Store   AccountStore
	// InviteTTL is how long a one-time link works (auth.invite_ttl;
	// default DefaultInviteTTL).
	InviteTTL time.Duration
	// PublicURL starts the links (public_url).
	PublicURL string
	// Mailer sends the links (notifications.smtp); nil: they are only
	// returned to the admin, who passes them on.
	Mailer notify.Mailer
}

// AccountService is the write side of user management (inbox.Service).
type AccountService interface {
	CreateUser(ctx context.Context, by inbox.Actor, nu inbox.NewUser, link *inbox.AccountLink) (*inbox.Account, error)
	UpdateUser(ctx context.Context, by inbox.Actor, id int64, ch inbox.UserChange) (*inbox.Account, error)
	DeactivateUser(ctx context.Context, by inbox.Actor, id int64) (*inbox.Account, error)
	ReactivateUser(ctx context.Context, by inbox.Actor, id int64) (*inbox.Account, error)
	IssueLink(ctx context.Context, by inbox.Actor, id int64, link inbox.AccountLink) (*inbox.Account, error)
	AcceptLink(ctx context.Context, hash, passwordHash, name, ip string) (*inbox.Account, error)
}

// AccountStore reads accounts and the audit log, and records entries
// that are not part of a store change (logins).
type AccountStore interface {
	inbox.Auditor
	Accounts(ctx context.Context) ([]inbox.Account, error)
	// LinkUser returns the user and kind of a live one-time link;
	// ENotFound otherwise.
	LinkUser(ctx context.Context, hash string, now time.Time) (int64, inbox.LinkKind, error)
	AuditEntries(ctx context.Context, f inbox.AuditFilter) ([]inbox.AuditEntry, error)
}

// DefaultInviteTTL is auth.invite_ttl's default.
const DefaultInviteTTL = 72 * time.Hour

// mailTimeout bounds sending one link by mail.
const mailTimeout = 15 * time.Second

// linkRoutes carry a one-time link's token in their path: the access log
// prints the route instead of the path.
var linkRoutes = map[string]bool{"/invite/:token": true, "/api/v1/invitations/:token/accept": true}

// accountRoutes: /api/v1/users..., the invitation page and its accept,
// the Users page. GET /api/v1/users replaces the console's team list
// (echo serves the last route of a path).
func (s *Server) accountRoutes() []Route {
	if s.o.Accounts.Service == nil || s.o.Accounts.Store == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/users", Admin, s.listAccounts},
		{http.MethodPost, "/api/v1/users", Admin, s.createAccount},
		{http.MethodPut, "/api/v1/users/:id", Admin, s.updateAccount},
		{http.MethodPost, "/api/v1/users/:id/deactivate", Admin, s.deactivateAccount},
		{http.MethodPost, "/api/v1/users/:id/reactivate", Admin, s.reactivateAccount},
		{http.MethodPost, "/api/v1/users/:id/password-reset", Admin, s.passwordReset},
		// The token is the credential: anyone holding a live link may use
		// it once. Unknown tokens cost one indexed read, no hashing.
		{http.MethodPost, "/api/v1/invitations/:token/accept", Public, s.acceptInvitation},
		{http.MethodGet, "/invite/:token", Public, s.invitePage},
		{http.MethodGet, "/users", Public, s.consolePage("users", "Users", true, nil)},
	}
}

// AccountView is a user as its managers see it: the team list's fields,
// its account status and when it was last seen.
type AccountView struct {
	teamMember
	AccountStatus inbox.AccountStatus `json:"account_status"`
	LastSeenAt    *time.Time          `json:"last_seen_at"`
	CreatedAt     time.Time           `json:"created_at"`
	DeactivatedAt *time.Time          `json:"deactivated_at"`
}

func accountView(a *inbox.Account) AccountView {
	v := AccountView{teamMember: teamMember{UserView: userView(&a.User), AllQueues: len(a.Queues) == 0},
		AccountStatus: a.Status, CreatedAt: a.CreatedAt}
	if !a.LastSeenAt.IsZero() {
		t := a.LastSeenAt
		v.LastSeenAt = &t
	}
	if !a.DeactivatedAt.IsZero() {
		t := a.DeactivatedAt
		v.DeactivatedAt = &t
	}
	return v
}

func (s *Server) actor(c echo.Context) inbox.Actor {
	return inbox.Actor{User: currentUser(c), IP: c.RealIP()}
}

func (s *Server) listAccounts(c echo.Context) error {
	as, err := s.o.Accounts.Store.Accounts(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]AccountView, len(as))
	for i := range as {
		out[i] = accountView(&as[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// knownQueues are the configured queues' ids.
func (s *Server) knownQueues() []string {
	out := make([]string, len(s.o.Console.Queues))
	for i, q := range s.o.Console.Queues {
		out[i] = q.ID
	}
	return out
}

// createAccount adds a user: with "password", one who can log in at once;
// without, an invited one, whose one-time link is mailed (when the
// notifications SMTP is configured) and returned as "invite_url".
func (s *Server) createAccount(c echo.Context) error {
	var req struct {
		Email    string     `json:"email"`
		Name     string     `json:"name"`
		Role     inbox.Role `json:"role"`
		Queues   []string   `json:"queues"`
		Password *string    `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email, err := inbox.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	name, err := displayName(req.Name)
	if err != nil {
		return err
	}
	if !req.Role.Valid() {
		return inbox.Invalid("role", "must be owner, admin or agent")
	}
	queues, err := inbox.CheckQueues(req.Queues, s.knownQueues())
	if err != nil {
		return err
	}
	nu := inbox.NewUser{Email: email, Name: name, Role: req.Role, Queues: queues}
	var link *inbox.AccountLink
	var url string
	if req.Password != nil && *req.Password != "" {
		// Checked before hashing: who may not create the role pays no bcrypt.
		if !inbox.CanManageUser(currentUser(c), req.Role) {
			return inbox.Errorf(inbox.EForbidden, "admins manage agents only")
		}
		if nu.PasswordHash, err = HashPassword(*req.Password, s.o.Console.BcryptCost); err != nil {
			return inbox.Invalid("password", "%s", strings.TrimPrefix(err.Error(), "password: "))
		}
	} else {
		var l inbox.AccountLink
		l, url = s.newLink(inbox.LinkInvite)
		link = &l
	}
	ctx := c.Request().Context()
	a, err := s.o.Accounts.Service.CreateUser(ctx, s.actor(c), nu, link)
	if err != nil {
		return err
	}
	s.o.Logger.Info("user created", "user_id", a.ID, "by", currentUser(c).ID, "invited", link != nil)
	out := map[string]any{"user": accountView(a)}
	if link != nil {
		out["invite_url"] = url
		out["expires_at"] = link.ExpiresAt
		out["mailed"] = s.mailLink(c, a, inbox.LinkInvite, url, link.ExpiresAt)
	}
	return c.JSON(http.StatusCreated, out)
}

// newLink makes a one-time link: the URL given out (absolute under
// public_url; a path when public_url is not set) and what is stored (its
// token's hash).
func (s *Server) newLink(kind inbox.LinkKind) (inbox.AccountLink, string) {
	ttl := s.o.Accounts.InviteTTL
	if ttl <= 0 {
		ttl = DefaultInviteTTL
	}
	token, hash := NewToken()
	l := inbox.AccountLink{Hash: hash, Kind: kind, ExpiresAt: s.o.Clock.Now().Add(ttl).UTC().Truncate(time.Second)}
	return l, strings.TrimSuffix(s.o.Accounts.PublicURL, "/") + "/invite/" + token
}

// mailLink sends a link when a mailer is configured; whether it went is
// in the answer (the admin passes the link on otherwise). The link is
// never logged.
func (s *Server) mailLink(c echo.Context, a *inbox.Account, kind inbox.LinkKind, url string, expires time.Time) bool {
	if s.o.Accounts.Mailer == nil || !strings.Contains(url, "://") {
		return false // no SMTP, or no public_url to link from a mail
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mailTimeout)
	defer cancel()
	m := notify.LinkMail(a.Email, a.Name, currentUser(c).Name, kind, url, expires)
	if err := notify.Send(ctx, s.o.Accounts.Mailer, m); err != nil {
		s.o.Logger.Warn("link mail not sent", "user_id", a.ID, "err", err)
		return false
	}
	return true
}

// accountChange runs a change of the path's user and answers the user.
func (s *Server) accountChange(c echo.Context, do func(ctx context.Context, by inbox.Actor, id int64) (*inbox.Account, error)) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	a, err := do(c.Request().Context(), s.actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"user": accountView(a)})
}

// updateAccount changes name, role and queues (each optional). A changed
// role or queue list closes the user's live feeds: they reconnect with
// what the user may see now.
func (s *Server) updateAccount(c echo.Context) error {
	var req struct {
		Name   *string     `json:"name"`
		Role   *inbox.Role `json:"role"`
		Queues *[]string   `json:"queues"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var ch inbox.UserChange
	if req.Name != nil {
		n, err := displayName(*req.Name)
		if err != nil {
			return err
		}
		ch.Name = &n
	}
	if req.Role != nil {
		if !req.Role.Valid() {
			return inbox.Invalid("role", "must be owner, admin or agent")
		}
		ch.Role = req.Role
	}
	if req.Queues != nil {
		qs, err := inbox.CheckQueues(*req.Queues, s.knownQueues())
		if err != nil {
			return err
		}
		ch.Queues = &qs
	}
	return s.accountChange(c, func(ctx context.Context, by inbox.Actor, id int64) (*inbox.Account, error) {
		a, err := s.o.Accounts.Service.UpdateUser(ctx, by, id, ch)
		if err == nil && (ch.Role != nil || ch.Queues != nil) {
			s.closeUserFeeds(id)
		}
		return a, err
	})
}

// deactivateAccount ends a user's access; its open feeds close at once.
func (s *Server) deactivateAccount(c echo.Context) error {
	return s.accountChange(c, func(ctx context.Context, by inbox.Actor, id int64) (*inbox.Account, error) {
		a, err := s.o.Accounts.Service.DeactivateUser(ctx, by, id)
		if err == nil {
			s.closeUserFeeds(id)
			s.o.Logger.Info("user deactivated", "user_id", id, "by", by.User.ID)
		}
		return a, err
	})
}

func (s *Server) reactivateAccount(c echo.Context) error {
	return s.accountChange(c, s.o.Accounts.Service.ReactivateUser)
}

// passwordReset issues a one-time link with which the user sets a new
// password (an invited user gets a new invitation); mailed and returned
// like an invitation.
func (s *Server) passwordReset(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	kind := inbox.LinkReset
	link, url := s.newLink(kind)
	a, err := s.o.Accounts.Service.IssueLink(ctx, s.actor(c), id, link)
	if err != nil {
		return err
	}
	if a.Status == inbox.AccountInvited {
		// Issued as a reset: the accepted link sets the password either way.
		kind = inbox.LinkInvite
	}
	return c.JSON(http.StatusOK, map[string]any{"user": accountView(a), "reset_url": url, "expires_at": link.ExpiresAt,
		"mailed": s.mailLink(c, a, kind, url, link.ExpiresAt)})
}

// acceptInvitation uses a one-time link: sets the password (and the name,
// when given), and logs the user in like a login does.
func (s *Server) acceptInvitation(c echo.Context) error {
	var req struct {
		Password string  `json:"password"`
		Name     *string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	token := c.Param("token")
	if token == "" || len(token) > 200 {
		return errLinkNotFound
	}
	var name string
	if req.Name != nil && *req.Name != "" {
		n, err := displayName(*req.Name)
		if err != nil {
			return err
		}
		name = n
	}
	if n := len([]rune(req.Password)); n < MinPasswordLen || len(req.Password) > 72 {
		return inbox.Invalid("password", "must be %d characters to 72 bytes", MinPasswordLen)
	}
	ctx := c.Request().Context()
	hash := HashToken(token)
	// A dead link is refused before the password is hashed: anonymous
	// guesses cost one indexed read.
	if _, _, err := s.o.Accounts.Store.LinkUser(ctx, hash, s.o.Clock.Now()); err != nil {
		return err
	}
	ph, err := HashPassword(req.Password, s.o.Console.BcryptCost)
	if err != nil {
		return inbox.Invalid("password", "%s", strings.TrimPrefix(err.Error(), "password: "))
	}
	a, err := s.o.Accounts.Service.AcceptLink(ctx, hash, ph, name, c.RealIP())
	if err != nil {
		return err
	}
	now := s.o.Clock.Now()
	tok, th := NewToken()
	if err := s.o.Users.CreateToken(ctx, a.ID, th, "session", "invitation", now, now.Add(SessionTTL)); err != nil {
		return err
	}
	csrf, _ := NewToken()
	s.setCookie(c, SessionCookie, tok, true, now.Add(SessionTTL))
	s.setCookie(c, CSRFCookie, csrf, false, now.Add(SessionTTL))
	s.o.Logger.Info("one-time link used", "user_id", a.ID, "ip", c.RealIP())
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "user": userView(&a.User)})
}

var errLinkNotFound = inbox.Errorf(inbox.ENotFound, "this link is not valid (used, expired or revoked)")

// invitePage is the form that sets a password through a one-time link. It
// shows no account data: whoever opens it holds the link.
func (s *Server) invitePage(c echo.Context) error {
	return s.render(c, http.StatusOK, "invite", page{Title: "Set your password", Page: "invite"})
}

// closeUserFeeds ends every open staff feed of a user at once (its access
// changed: deactivated, or other rights).
func (s *Server) closeUserFeeds(userID int64) {
	leases := s.owners.staff(userID)
	for _, l := range leases {
		s.owners.mu.Lock()
		end := l.closeFeed
		l.revoked = true
		s.owners.mu.Unlock()
		if end != nil {
			end()
		}
	}
	if len(leases) > 0 {
		s.o.Logger.Info("live feeds closed: access changed", "user_id", userID, "feeds", len(leases))
	}
}

// record writes an audit entry that is not part of a store transaction
// (a login, a failed one, a token change recorded after its commit). A
// failure to record is logged, and does not undo what happened.
func (s *Server) record(c echo.Context, e *inbox.AuditEntry) {
	st := s.o.Accounts.Store
	if st == nil {
		return
	}
	e.CreatedAt = s.o.Clock.Now()
	if e.IP == "" {
		e.IP = c.RealIP()
	}
	if u := currentUser(c); u != nil && e.ActorID == 0 {
		e.ActorID, e.ActorName = u.ID, u.Name
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
	defer cancel()
	if err := st.Audit(ctx, e); err != nil {
		s.o.Logger.Error("audit entry not recorded", "action", string(e.Action), "err", err)
	}
}
