package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// ConsoleOptions wires the web console for admins and agents.
type ConsoleOptions struct {
	Store ConsoleStore
	// Queues are the configured queues (statistics, activity filters).
	Queues []ConsoleQueue
	// BcryptCost for changed passwords (0: default).
	BcryptCost int
}

// Limits of the console's settings.
const (
	maxTokenName   = 100
	maxUserName    = 100
	maxTokensEach  = 50
	maxTokenLife   = 366 * 24 * time.Hour // a year, leap day included
	maxStatsDays   = 92
	activityLimit  = 500
	defaultStatDay = 30
)

// consoleRoutes: the console pages at / and the API they need beyond the
// core (statistics, password, API tokens, the team list, a per-user live
// feed for agents' notifications).
func (s *Server) consoleRoutes() []Route {
	return []Route{
		// Pages check their own access (consolePage) so that anonymous
		// visitors are redirected to /login instead of getting JSON.
		{http.MethodGet, "/", Public, s.home},
		{http.MethodGet, "/login", Public, s.loginPage},
		{http.MethodGet, "/journal", Public, s.consolePage("journal", "Journal", true, nil)},
		{http.MethodGet, "/inbox", Public, s.consolePage("inbox", "Conversations", false, nil)},
		{http.MethodGet, "/conversations/:id", Public, s.consolePage("conversation", "Conversation", false, conversationPageData)},
		{http.MethodGet, "/activity", Public, s.consolePage("activity", "Activity", false, nil)},
		{http.MethodGet, "/stats", Public, s.consolePage("stats", "Statistics", true, s.statsPageData)},
		{http.MethodGet, "/queues", Public, s.consolePage("queues", "Queues and channels", true, nil)},
		{http.MethodGet, "/settings", Public, s.consolePage("settings", "Settings", false, nil)},
		{http.MethodGet, "/console/*", Public, s.asset},

		{http.MethodGet, "/api/v1/me/events", Member, s.meEvents},
		{http.MethodPut, "/api/v1/me", Member, s.setProfile},
		{http.MethodPut, "/api/v1/me/password", Member, s.setPassword},
		{http.MethodGet, "/api/v1/me/tokens", Member, s.listTokens},
		{http.MethodPost, "/api/v1/me/tokens", Member, s.createToken},
		{http.MethodDelete, "/api/v1/me/tokens/:id", Member, s.deleteToken},
		{http.MethodGet, "/api/v1/journal/counts", Admin, s.journalCounts},
		{http.MethodGet, "/api/v1/stats", Admin, s.stats},
		{http.MethodGet, "/api/v1/conversations/:id/activity", Member, s.conversationActivity},
	}
}

func (s *Server) consoleStore() (ConsoleStore, error) {
	if s.o.Console.Store == nil {
		return nil, inbox.Errorf(inbox.EUnavailable, "the console is not configured")
	}
	return s.o.Console.Store, nil
}

func conversationPageData(c echo.Context, _ *inbox.User) (any, error) {
	return pathID(c)
}

// meEvents is the caller's own live feed: every event it may see. Agents'
// consoles use it for live lists and notifications (the journal feed is
// for admins).
func (s *Server) meEvents(c echo.Context) error {
	return s.staffStream(c, FeedMe, 0)
}

// setProfile changes the caller's display name (what customers and
// colleagues see on replies and activity lines from now on).
func (s *Server) setProfile(c echo.Context) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := displayName(req.Name)
	if err != nil {
		return err
	}
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	u := currentUser(c)
	nu, err := st.SetUserName(c.Request().Context(), u.ID, name)
	if err != nil {
		return err
	}
	s.o.Logger.Info("profile changed", "user_id", u.ID)
	return c.JSON(http.StatusOK, userView(nu))
}

// displayName checks a user's name: trimmed, 1 to maxUserName characters
// of valid UTF-8 without control characters (which would break the lines,
// mails and headers the name is shown in, or reorder the text around it).
func displayName(name string) (string, error) {
	// decodeJSON refuses invalid bytes; a JSON escape of a lone surrogate
	// still arrives as U+FFFD, which no real name holds.
	if !utf8.ValidString(name) || strings.ContainsRune(name, utf8.RuneError) {
		return "", inbox.Invalid("name", "must be valid UTF-8")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxUserName {
		return "", inbox.Invalid("name", "must be 1 to %d characters", maxUserName)
	}
	if strings.IndexFunc(name, nameControl) >= 0 {
		return "", inbox.Invalid("name", "must not contain control characters")
	}
	return name, nil
}

// nameControl: C0/C1 controls, line and paragraph separators, and the
// bidirectional embeddings, overrides and isolates (which can make a name
// display as something else).
func nameControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// setPassword changes the caller's password and ends the user's other
// sessions and, unless "revoke_tokens" is false, its API tokens: whoever
// knew the old password may have made some. Wrong current passwords are
// throttled per user, so that a stolen session cannot be used to guess the
// password at full speed.
func (s *Server) setPassword(c echo.Context) error {
	var req struct {
		Current      string `json:"current_password"`
		New          string `json:"new_password"`
		RevokeTokens *bool  `json:"revoke_tokens"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	u := currentUser(c)
	now := s.o.Clock.Now()
	key := "password:" + strconv.FormatInt(u.ID, 10)
	if d := s.passwords.wait(key, now); d > 0 {
		return tooManyPasswords(c, d)
	}
	_, hash, err := s.o.Users.Credentials(ctx, u.Email)
	if err != nil {
		return err
	}
	if hash == "" || !s.o.PasswordCheck(hash, req.Current) {
		d := s.passwords.fail(key, now)
		s.o.Logger.Info("password change refused", "user_id", u.ID, "ip", c.RealIP(), "locked_for", d.String())
		if d > 0 {
			// This failure starts a lockout: say so now rather than
			// letting the next attempt find out.
			return tooManyPasswords(c, d)
		}
		return inbox.Invalid("current_password", "is wrong")
	}
	s.passwords.reset(key)
	newHash, err := HashPassword(req.New, s.o.Console.BcryptCost)
	if err != nil {
		return inbox.Invalid("new_password", "%s", strings.TrimPrefix(err.Error(), "password: "))
	}
	revoke := req.RevokeTokens == nil || *req.RevokeTokens
	if err := st.SetPassword(ctx, u.ID, newHash, HashToken(s.callerToken(c)), revoke); err != nil {
		return err
	}
	s.o.Logger.Info("password changed", "user_id", u.ID, "ip", c.RealIP(), "api_tokens_revoked", revoke)
	// The feeds of the sessions (and tokens) that ended close now.
	s.revalidateFeeds(ctx, u.ID)
	return c.NoContent(http.StatusNoContent)
}

// tooManyPasswords answers 429 with Retry-After, as a locked-out login does.
func tooManyPasswords(c echo.Context, d time.Duration) error {
	secs := int(d.Seconds()) + 1
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return inbox.Errorf(inbox.ERateLimited, "too many wrong passwords: try again in %d seconds", secs)
}

// callerToken is the token this request authenticated with.
func (s *Server) callerToken(c echo.Context) string {
	if t := bearer(c); t != "" {
		return t
	}
	if ck, err := c.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

func (s *Server) listTokens(c echo.Context) error {
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	ts, err := st.APITokens(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []TokenView{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": ts})
}

// createToken makes an API token for scripts, valid until "expires_at"
// (optional, RFC 3339, in the future, at most maxTokenLife ahead) or until
// revoked; the token is in this answer only, the database keeps its hash.
func (s *Server) createToken(c echo.Context) error {
	var req struct {
		Name      string  `json:"name"`
		ExpiresAt *string `json:"expires_at"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > maxTokenName {
		return inbox.Invalid("name", "must be 1 to %d characters", maxTokenName)
	}
	now := s.o.Clock.Now()
	var expires time.Time
	if req.ExpiresAt != nil && *req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		switch {
		case err != nil:
			return inbox.Invalid("expires_at", "must be an RFC 3339 time like 2027-01-31T00:00:00Z")
		case !t.After(now):
			return inbox.Invalid("expires_at", "must be in the future")
		case t.After(now.Add(maxTokenLife)):
			return inbox.Invalid("expires_at", "must be at most a year ahead")
		}
		expires = t.UTC()
	}
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	u := currentUser(c)
	have, err := st.APITokens(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(have) >= maxTokensEach {
		return inbox.Errorf(inbox.EConflict, "at most %d API tokens: revoke one first", maxTokensEach)
	}
	token, hash := NewToken()
	if err := s.o.Users.CreateToken(ctx, u.ID, hash, "api", req.Name, now, expires); err != nil {
		return err
	}
	s.o.Logger.Info("api token created", "user_id", u.ID)
	s.record(c, &inbox.AuditEntry{Action: inbox.AuditTokenCreated, TargetType: "token",
		Data: map[string]string{"name": req.Name, "expires_at": formatOptional(expires)}})
	var exp *time.Time
	if !expires.IsZero() {
		exp = &expires
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": token, "name": req.Name, "created_at": now, "expires_at": exp})
}

func (s *Server) deleteToken(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	u := currentUser(c)
	if err := st.DeleteAPIToken(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	s.record(c, &inbox.AuditEntry{Action: inbox.AuditTokenDeleted, TargetType: "token", TargetID: strconv.FormatInt(id, 10)})
	// The feeds opened with the token close now.
	s.revalidateFeeds(c.Request().Context(), u.ID)
	return c.NoContent(http.StatusNoContent)
}

// teamMember is a user as the team list shows it. AllQueues says out
// loud what an empty queue list means (inbox.ServesQueue): an agent
// created without queues serves every queue.
type teamMember struct {
	UserView
	AllQueues bool `json:"all_queues"`
}

func (s *Server) journalCounts(c echo.Context) error {
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	n, err := st.StatusCounts(c.Request().Context(), c.QueryParam("queue"), c.QueryParam("channel"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}

// queueStats reads ?queue= (default: the first queue) and ?days=.
func (s *Server) queueStats(c echo.Context) (ConsoleQueue, int, QueueStats, error) {
	st, err := s.consoleStore()
	if err != nil {
		return ConsoleQueue{}, 0, QueueStats{}, err
	}
	var q ConsoleQueue
	id := c.QueryParam("queue")
	for _, cq := range s.o.Console.Queues {
		if cq.ID == id || (id == "" && q.ID == "") {
			q = cq
		}
	}
	if q.ID == "" || (id != "" && q.ID != id) {
		return q, 0, QueueStats{}, inbox.Invalid("queue", "is not a configured queue")
	}
	days, err := queryInt(c, "days")
	if err != nil {
		return q, 0, QueueStats{}, err
	}
	if days == 0 {
		days = defaultStatDay
	}
	if days > maxStatsDays {
		return q, 0, QueueStats{}, inbox.Invalid("days", "must be at most %d", maxStatsDays)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	from, to := statsRange(s.o.Clock.Now(), loc, int(days))
	rows, err := st.ConversationStats(c.Request().Context(), q.ID, from, to)
	if err != nil {
		return q, 0, QueueStats{}, err
	}
	if rows, err = s.keepTagged(c, rows); err != nil { // ?tag= (routes_workspace.go)
		return q, 0, QueueStats{}, err
	}
	return q, int(days), computeStats(q.ID, rows, s.o.Channels, loc, from, int(days)), nil
}

func (s *Server) stats(c echo.Context) error {
	_, _, st, err := s.queueStats(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// statsPage is what the statistics page renders.
type statsPage struct {
	Queue ConsoleQueue
	Days  int
	Stats QueueStats
	Chart chart
}

func (s *Server) statsPageData(c echo.Context, _ *inbox.User) (any, error) {
	q, days, st, err := s.queueStats(c)
	if err != nil {
		return nil, err
	}
	return statsPage{Queue: q, Days: days, Stats: st, Chart: buildChart(st)}, nil
}

// conversationActivity is the activity lines of a conversation the caller
// may see ("Anna joined").
func (s *Server) conversationActivity(c echo.Context) error {
	id, err := s.visibleConversation(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.consoleStore()
	if err != nil {
		return err
	}
	acts, err := st.ConversationActivities(ctx, id, activityLimit)
	if err != nil {
		return err
	}
	if acts == nil {
		acts = []inbox.Activity{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": acts})
}
