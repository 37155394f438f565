package daemon_test

// The authorization matrix: every route of the running daemon's route
// table, called by every role (anonymous, a widget visitor, an agent, an
// admin, the owner) on an object of their own and on someone else's,
// against the expected answer. A route without a row fails the test, so
// no route can be added without saying who may call it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// The roles, in the order of a row's cells.
var roles = [5]string{"anonymous", "visitor", "agent", "admin", "owner"}

// A cell is what a call must answer: "ok" (allowed: any status that is
// not 401, 403, 404 or 5xx — a 400 for the empty test body or a 409 for
// the object's state still means the caller got through), or the exact
// denial status.
type cells [5]string

func all(c string) cells { return cells{c, c, c, c, c} }

// members: anonymous and visitors 401, staff as given.
func members(agent, admin, owner string) cells { return cells{"401", "401", agent, admin, owner} }

// authzRow is one route's expectations: on the caller's own object, and
// (for routes that name an object) on someone else's: another queue's
// conversation, another user's token, another widget channel.
type authzRow struct {
	own   cells
	other *cells
	body  string // request body (JSON), for POST and PUT
}

func other(c cells) *cells { return &c }

var staff = members("ok", "ok", "ok")
var adminsOnly = members("403", "ok", "ok")

// authzMatrix is keyed by "METHOD path" as in the route table.
var authzMatrix = map[string]authzRow{
	// Operations and login: public.
	"GET /healthz":                        {own: all("ok")},
	"GET /readyz":                         {own: all("ok")},
	"GET /metrics":                        {own: all("ok")},
	"GET /api/openapi.yaml":               {own: all("ok")},
	"POST /api/v1/auth/login":             {own: all("ok"), body: `{"email":"nobody@example.com","password":""}`},
	"POST /api/v1/auth/logout":            {own: staff},
	"GET /api/v1/me":                      {own: staff},
	"PUT /api/v1/me":                      {own: staff, body: `{"name":"Matrix"}`},
	"PUT /api/v1/me/status":               {own: staff, body: `{"status":"online"}`},
	"GET /api/v1/journal":                 {own: adminsOnly},
	"GET /api/v1/journal/events":          {own: adminsOnly},
	"GET /api/v1/journal/counts":          {own: adminsOnly},
	"GET /api/v1/conversations":           {own: staff},
	"GET /api/v1/activity":                {own: staff},
	"GET /api/v1/channels":                {own: staff},
	"GET /api/v1/users":                   {own: adminsOnly},
	"GET /api/v1/stats":                   {own: adminsOnly},
	"GET /api/v1/me/events":               {own: staff},
	"PUT /api/v1/me/password":             {own: staff, body: `{"current_password":"wrong","new_password":"x"}`},
	"GET /api/v1/me/tokens":               {own: staff},
	"POST /api/v1/me/tokens":              {own: staff, body: `{"name":"matrix"}`},
	"DELETE /api/v1/me/tokens/:id":        {own: staff, other: other(members("404", "404", "404"))},
	"GET /api/v1/me/hours":                {own: staff},
	"PUT /api/v1/me/hours":                {own: staff, body: `{}`},
	"GET /api/v1/me/notifications":        {own: staff},
	"PUT /api/v1/me/notifications":        {own: staff, body: `{}`},
	"GET /api/v1/me/notifications/events": {own: staff},

	// Two-factor authentication: each user's own; resetting another
	// user's is for owners (admins too get 403).
	"GET /api/v1/me/2fa":           {own: staff},
	"POST /api/v1/me/2fa":          {own: staff, body: `{}`},
	"POST /api/v1/me/2fa/confirm":  {own: staff, body: `{"code":"000000"}`},
	"DELETE /api/v1/me/2fa":        {own: staff, body: `{"code":"000000"}`},
	"DELETE /api/v1/users/:id/2fa": {own: members("403", "403", "ok")},
	// Single sign-on is the way in: public (the callback refuses what it
	// cannot verify with a page).
	"GET /auth/oidc/login":    {own: all("ok")},
	"GET /auth/oidc/callback": {own: all("ok")},

	// Conversations: agents reach their queues' only (404 elsewhere, as
	// if it did not exist); admins and the owner reach all.
	"GET /api/v1/conversations/:id":           {own: staff, other: other(members("404", "ok", "ok"))},
	"GET /api/v1/conversations/:id/messages":  {own: staff, other: other(members("404", "ok", "ok"))},
	"GET /api/v1/conversations/:id/events":    {own: staff, other: other(members("404", "ok", "ok"))},
	"GET /api/v1/conversations/:id/activity":  {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/messages": {own: staff, other: other(members("404", "ok", "ok")), body: `{"text":"matrix reply"}`},
	"POST /api/v1/conversations/:id/join":     {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/leave":    {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/close":    {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/typing":   {own: staff, other: other(members("404", "ok", "ok")), body: `{}`},
	"POST /api/v1/messages/:id/retry":         {own: staff, other: other(members("404", "ok", "ok"))},
	"GET /api/v1/attachments/:id":             {own: staff, other: other(members("404", "ok", "ok"))},
	// Assignment and notes: the agent hands over its own, and
	// writes notes on it; another queue's is not found.
	"POST /api/v1/conversations/:id/assign":   {own: staff, other: other(members("404", "ok", "ok")), body: `{"queue":"sales"}`},
	"POST /api/v1/conversations/:id/notes":    {own: staff, other: other(members("404", "ok", "ok")), body: `{"text":"matrix note"}`},
	"GET /api/v1/conversations/:id/assignees": {own: staff, other: other(members("404", "ok", "ok"))},

	// Tags: everyone reads the list and tags what it may act on; owners
	// and admins keep the list. Canned replies: shared ones are the
	// admins' (agents read their queues'), personal ones their author's
	// alone (someone else's answers 404). Objects: matrixPaths.
	"GET /api/v1/tags":                             {own: staff},
	"POST /api/v1/tags":                            {own: adminsOnly, body: `{"name":"matrix","color":"#336699"}`},
	"DELETE /api/v1/tags/:id":                      {own: adminsOnly},
	"PUT /api/v1/conversations/:id/tags":           {own: staff, other: other(members("404", "ok", "ok")), body: `{"tags":[]}`},
	"GET /api/v1/canned":                           {own: staff},
	"POST /api/v1/canned":                          {own: staff, body: `{"shortcut":"matrix","title":"Matrix","text":"Hi","personal":true}`},
	"PUT /api/v1/canned/:id":                       {own: members("403", "ok", "ok"), other: other(members("404", "404", "404")), body: `{"shortcut":"matrix","title":"Matrix","text":"Hi"}`},
	"DELETE /api/v1/canned/:id":                    {own: members("403", "ok", "ok"), other: other(members("404", "404", "404"))},
	"GET /api/v1/conversations/:id/canned/:canned": {own: staff, other: other(members("404", "ok", "ok"))},

	// Ticket links: read by who sees the conversation, changed by who
	// may act on it; each DELETE call gets a fresh link (freshLink).
	"GET /api/v1/conversations/:id/links":            {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/links":           {own: staff, other: other(members("404", "ok", "ok")), body: `{"url":"https://tickets.example.com/matrix"}`},
	"DELETE /api/v1/conversations/:id/links/:linkID": {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/conversations/:id/tickets":         {own: staff, other: other(members("404", "ok", "ok"))},

	// Users: admins manage agents (their own object: a fresh agent), only
	// owners manage owners (someone else's: the owner); the one-time
	// link is its own credential (a wrong one: 404 for everyone).
	"POST /api/v1/users":                     {own: adminsOnly, body: `{"email":"matrix@example.com","name":"Matrix","role":"agent"}`},
	"PUT /api/v1/users/:id":                  {own: adminsOnly, other: other(members("403", "403", "ok")), body: `{"name":"Renamed"}`},
	"POST /api/v1/users/:id/deactivate":      {own: adminsOnly, other: other(members("403", "403", "ok"))},
	"POST /api/v1/users/:id/reactivate":      {own: adminsOnly, other: other(members("403", "403", "ok"))},
	"POST /api/v1/users/:id/password-reset":  {own: adminsOnly, other: other(members("403", "403", "ok"))},
	"POST /api/v1/invitations/:token/accept": {own: all("404"), body: `{"password":"matrix-password"}`},
	"GET /api/v1/audit":                      {own: adminsOnly},

	// Queues: agents see theirs; the override is for admins.
	"GET /api/v1/queues":              {own: staff},
	"PUT /api/v1/queues/:id/override": {own: adminsOnly, other: other(adminsOnly), body: `{"override":"auto"}`},
	"GET /api/v1/queues/:id/contacts": {own: staff, other: other(members("404", "ok", "ok"))},

	// Contacts: agents read their queues' contacts (another queue's: 404);
	// linking is for owners and admins ("into" names a contact that
	// exists: the matrix has made conversations by then).
	"GET /api/v1/contacts":              {own: staff},
	"GET /api/v1/contacts/:id":          {own: staff, other: other(members("404", "ok", "ok"))},
	"POST /api/v1/contacts/:id/merge":   {own: adminsOnly, other: other(adminsOnly), body: `{"into":1}`},
	"DELETE /api/v1/contacts/:id/merge": {own: adminsOnly, other: other(adminsOnly)},
	// A person's data: owners and admins, whatever the queue.
	"GET /api/v1/contacts/:id/export": {own: adminsOnly, other: other(adminsOnly)},
	"DELETE /api/v1/contacts/:id":     {own: adminsOnly, other: other(adminsOnly)},

	// Provider webhooks authenticate by signature: a call without one is
	// 401 whoever makes it; a kind that does not match the channel is 404.
	"GET /hooks/:kind/:channel":  {own: all("ok"), other: other(all("404"))},
	"POST /hooks/:kind/:channel": {own: all("401"), other: other(all("404")), body: `{"message_id":"x"}`},

	// The widget: public, a visitor's token reaches the visitor's own
	// conversation on its own channel only; staff tokens are no visitor
	// tokens.
	"GET /widget.js":                    {own: all("ok")},
	"GET /widget.css":                   {own: all("ok")},
	"GET /widget/v1/:channel/demo":      {own: all("ok"), other: other(all("ok"))},
	"OPTIONS /widget/v1/:channel/*":     {own: all("ok"), other: other(all("ok"))},
	"GET /widget/v1/:channel/settings":  {own: all("ok"), other: other(all("ok"))},
	"GET /widget/v1/:channel/config":    {own: all("ok"), other: other(all("ok"))},
	"POST /widget/v1/:channel/visitors": {own: all("ok"), other: other(all("ok")), body: `{}`},
	"POST /widget/v1/:channel/contact":  {own: all("ok"), other: other(all("ok")), body: `{}`},
	"GET /widget/v1/:channel/messages":  {own: cells{"401", "ok", "401", "401", "401"}, other: other(all("401"))},
	"POST /widget/v1/:channel/messages": {own: cells{"401", "ok", "401", "401", "401"}, other: other(all("401")), body: `{"text":"matrix"}`},
	"POST /widget/v1/:channel/typing":   {own: cells{"401", "ok", "401", "401", "401"}, other: other(all("401")), body: `{}`},
	// The anonymous feed carries the widget's mode changes only.
	"GET /widget/v1/:channel/events": {own: cells{"ok", "ok", "401", "401", "401"}, other: other(cells{"ok", "401", "401", "401", "401"})},

	// The console's pages are shells (the data behind them is the API
	// above); the admins' pages refuse agents; scripts are public files.
	"GET /":                  {own: all("ok")},
	"GET /login":             {own: all("ok")},
	"GET /journal":           {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /inbox":             {own: all("ok")},
	"GET /conversations/:id": {own: all("ok"), other: other(all("ok"))},
	"GET /activity":          {own: all("ok")},
	"GET /stats":             {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /queues":            {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /settings":          {own: all("ok")},
	"GET /canned":            {own: all("ok")},
	"GET /contacts":          {own: all("ok")},
	"GET /contacts/:id":      {own: all("ok"), other: other(all("ok"))},
	"GET /users":             {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /audit":             {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /invite/:token":     {own: all("ok")},
	"GET /console/*":         {own: all("ok")},

	// Event webhooks: the state for owners and admins, a replay for owners.
	"GET /integrations":                             {own: cells{"ok", "ok", "403", "ok", "ok"}},
	"GET /api/v1/integrations/webhooks":             {own: adminsOnly},
	"POST /api/v1/integrations/webhooks/:id/replay": {own: members("403", "403", "ok"), body: `{"from_event_id":0}`},
}

// matrixEnv is the daemon and the objects the matrix calls on.
type matrixEnv struct {
	*env
	visitor      string           // a widget visitor's token on "site"
	admin        string           // an admin's token
	userTokens   map[string]int64 // role -> an API token id of that role's user
	otherTokenOf map[string]int64 // role -> another user's API token id
	links        int              // links made by freshLink
}

func startMatrix(t *testing.T, d store.Dialect) *matrixEnv {
	t.Helper()
	// Replies fail permanently (400), so there are failed replies to retry.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	t.Cleanup(refuse.Close)
	desk := newTicketSystem(t)
	idp := newTestIdP(t)
	addr := freeAddr(t)
	yaml := fmt.Sprintf(`
listen: %[6]s
public_url: http://%[6]s
database: {url: %[1]q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
auth: {oidc: {issuer: %[7]s, allow_http_issuer: true, client_id: %[8]s, client_secret: %[9]s}}
outbox: {base_delay: 50ms, max_delay: 200ms, max_attempts: 1}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %[2]q, callback_url: %[3]q}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %[4]q, callback_url: %[5]q}
  - {id: site, kind: widget, name: Website, queue: support, allowed_origins: ["https://example.com"], rate_limits: {ip_per_minute: 100000, visitor_per_minute: 100000}}
  - {id: salesite, kind: widget, name: Sales site, queue: sales, allowed_origins: ["https://example.com"], rate_limits: {ip_per_minute: 100000, visitor_per_minute: 100000}}
integrations:
  webhooks: [{id: matrix, url: %[5]q, secret: %[2]q, events: [message.created]}]
  tickets: {create_url: %[10]q, secret: %[11]q, allow_private_fetch: true}
`, storetest.URL(t, d), secret, refuse.URL, secret, refuse.URL, addr, idp.URL, idpClientID, idpClientSecret, desk.URL, ticketSecret)
	cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dm, err := daemon.Start(context.Background(), cfg, daemon.Options{
		Logger: slog.New(slog.DiscardHandler), Notice: io.Discard, BcryptCost: bcrypt.MinCost, OutboxPoll: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	e := &env{t: t, d: dm, base: "http://" + dm.Addr}
	e.owner = e.login("owner@example.com", "owner-password")
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	e.sales = e.addUser("sam@example.com", "Sam", inbox.RoleAgent, []string{"sales"})
	m := &matrixEnv{env: e, userTokens: map[string]int64{}, otherTokenOf: map[string]int64{}}
	m.admin = e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
	var v struct{ Token string }
	if st := m.do("POST", "/widget/v1/site/visitors", "", `{}`, &v); st != 201 || v.Token == "" {
		t.Fatalf("visitor: %d", st)
	}
	m.visitor = v.Token
	// An API token per user: "own" for each role, and sam's as "someone
	// else's" for everyone.
	for role, tok := range map[string]string{"agent": e.anna, "admin": m.admin, "owner": e.owner, "sam": e.sales} {
		if st := m.do("POST", "/api/v1/me/tokens", tok, `{"name":"matrix-`+role+`"}`, nil); st != 201 {
			t.Fatalf("token for %s: %d", role, st)
		}
		var ts struct{ Items []struct{ ID int64 } }
		if st := m.do("GET", "/api/v1/me/tokens", tok, "", &ts); st != 200 || len(ts.Items) == 0 || ts.Items[0].ID == 0 {
			t.Fatalf("tokens of %s: %d %+v", role, st, ts)
		}
		m.userTokens[role] = ts.Items[0].ID
	}
	return m
}

// token is the credential a role calls with; fresh logs in anew (for
// calls that end the session).
func (m *matrixEnv) token(role string, fresh bool) string {
	switch role {
	case "visitor":
		return m.visitor
	case "agent":
		if fresh {
			return m.login("anna@example.com", "password-Anna")
		}
		return m.anna
	case "admin":
		if fresh {
			return m.login("ada@example.com", "password-Ada")
		}
		return m.admin
	case "owner":
		if fresh {
			return m.login("owner@example.com", "owner-password")
		}
		return m.owner
	}
	return ""
}

// do calls path with a bearer token and the widget's allowed Origin; SSE
// answers are cut after their headers.
func (m *matrixEnv) do(method, path, token, body string, out any) int {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, m.base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Origin", "https://example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if out != nil {
		json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

// objects makes a fresh object pair for a route, so that one call's
// change (a close, a join) cannot decide the next call's answer.
func (m *matrixEnv) objects(route string, n int) (own, theirs string) {
	m.t.Helper()
	switch {
	case strings.Contains(route, "/messages/:id/retry"):
		return strconv.FormatInt(m.failedReply("crm", n), 10), strconv.FormatInt(m.failedReply("shop", n), 10)
	case strings.Contains(route, "/attachments/:id"):
		return strconv.FormatInt(m.attachment("crm", n), 10), strconv.FormatInt(m.attachment("shop", n), 10)
	case strings.Contains(route, "conversations/:id"):
		// The agent's own: one she took by replying; someone else's: an
		// unassigned one of a queue she does not serve.
		a := m.send("crm", fmt.Sprintf("own-%d", n), fmt.Sprintf("c-own-%d", n), "hello")
		if st := m.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", a.ConversationID), m.anna,
			map[string]string{"text": "mine"}, nil); st != 201 {
			m.t.Fatalf("anna takes %d: %d", a.ConversationID, st)
		}
		b := m.send("shop", fmt.Sprintf("other-%d", n), fmt.Sprintf("c-other-%d", n), "hello")
		return strconv.FormatInt(a.ConversationID, 10), strconv.FormatInt(b.ConversationID, 10)
	case route == "/api/v1/users/:id/2fa":
		var id int64
		m.d.Store.DB().Raw(`SELECT id FROM users WHERE email = 'anna@example.com'`).Scan(&id)
		return strconv.FormatInt(id, 10), ""
	case strings.Contains(route, "contacts/:id"):
		// A contact of the agent's queue, and one of another queue.
		a := m.send("crm", fmt.Sprintf("ct-own-%d", n), fmt.Sprintf("ct-own-%d", n), "hello")
		b := m.send("shop", fmt.Sprintf("ct-other-%d", n), fmt.Sprintf("ct-other-%d", n), "hello")
		return strconv.FormatInt(m.contactOf(a.ConversationID), 10), strconv.FormatInt(m.contactOf(b.ConversationID), 10)
	case strings.HasPrefix(route, "/api/v1/users/:id"):
		// Own: a fresh agent each route; someone else's: the owner.
		u := &inbox.User{Email: fmt.Sprintf("target-%d@example.com", n), Name: "Target", Role: inbox.RoleAgent, CreatedAt: time.Now().UTC()}
		if err := m.d.Store.CreateUser(context.Background(), u, "x"); err != nil {
			m.t.Fatal(err)
		}
		var us struct {
			Items []struct {
				ID   int64
				Role string
			}
		}
		m.call("GET", "/api/v1/users", m.owner, nil, &us)
		for _, x := range us.Items {
			if x.Role == "owner" {
				return strconv.FormatInt(u.ID, 10), strconv.FormatInt(x.ID, 10)
			}
		}
		m.t.Fatal("no owner listed")
	case strings.HasPrefix(route, "/api/v1/contacts/:id"):
		return m.contact("crm", n), m.contact("shop", n)
	case route == "/api/v1/activity":
		return "?queue=support", "?queue=sales"
	case strings.Contains(route, "/queues/:id"):
		return "support", "sales"
	case strings.HasPrefix(route, "/hooks/"):
		return "webhook/crm", "telegram/crm"
	case strings.HasPrefix(route, "/widget/v1/"):
		return "site", "salesite"
	case strings.HasPrefix(route, "/api/v1/integrations/webhooks/:id"):
		return "matrix", ""
	}
	return "", ""
}

// contact is the id of a fresh contact on channel (one of the queue
// behind it).
func (m *matrixEnv) contact(channel string, n int) string {
	m.t.Helper()
	r := m.send(channel, fmt.Sprintf("ct-%s-%d", channel, n), fmt.Sprintf("ct-%s-%d", channel, n), "my data")
	var c struct{ Contact struct{ ID int64 } }
	if st := m.call("GET", fmt.Sprintf("/api/v1/conversations/%d", r.ConversationID), m.owner, nil, &c); st != 200 || c.Contact.ID == 0 {
		m.t.Fatalf("contact of %d: %d %+v", r.ConversationID, st, c)
	}
	return strconv.FormatInt(c.Contact.ID, 10)
}

// failedReply is a reply on channel that its callback refused for good.
func (m *matrixEnv) failedReply(channel string, n int) int64 {
	m.t.Helper()
	r := m.send(channel, fmt.Sprintf("f-%s-%d", channel, n), fmt.Sprintf("f-%s-%d", channel, n), "hello")
	var msg struct{ ID int64 }
	if st := m.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), m.owner,
		map[string]string{"text": "will fail"}, &msg); st != 201 {
		m.t.Fatalf("reply: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var ms struct {
			Items []struct {
				ID       int64
				Delivery *string
			}
		}
		m.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), m.owner, nil, &ms)
		for _, it := range ms.Items {
			if it.ID == msg.ID && it.Delivery != nil && *it.Delivery == "failed" {
				// Back to unassigned: the owner leaves, so the agent's
				// view of it is the queue's.
				m.call("POST", fmt.Sprintf("/api/v1/conversations/%d/leave", r.ConversationID), m.owner, nil, nil)
				return msg.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatal("the reply did not fail")
	return 0
}

// attachment is an inbound message with an HTML file, stored in the
// database.
func (m *matrixEnv) attachment(channel string, n int) int64 {
	m.t.Helper()
	res, err := m.d.Service.Ingest(context.Background(), inbox.Inbound{
		ChannelID: channel, ExternalID: fmt.Sprintf("att-%s-%d", channel, n), Text: "a file",
		Contact:     inbox.ContactInfo{ExternalID: fmt.Sprintf("att-%s-%d", channel, n), Name: "Filer"},
		Attachments: []inbox.Attachment{{Name: "page.html", MIMEType: "text/html", Data: []byte(hostileHTML)}},
	})
	if err != nil {
		m.t.Fatal(err)
	}
	var ms struct {
		Items []struct {
			Attachments []struct{ ID int64 }
		}
	}
	m.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", res.ConversationID), m.owner, nil, &ms)
	if len(ms.Items) == 0 || len(ms.Items[0].Attachments) == 0 {
		m.t.Fatalf("no attachment stored: %+v", ms)
	}
	return ms.Items[0].Attachments[0].ID
}

// freshLink adds a link to conversation conv (as the owner), so that
// each DELETE of the matrix has one to delete.
func (m *matrixEnv) freshLink(conv string) int64 {
	m.t.Helper()
	var l struct{ ID int64 }
	m.links++
	if st := m.call("POST", "/api/v1/conversations/"+conv+"/links", m.owner,
		map[string]string{"url": fmt.Sprintf("https://tickets.example.com/fresh/%d", m.links)}, &l); st != 201 {
		m.t.Fatalf("fresh link on %s: %d", conv, st)
	}
	return l.ID
}

const hostileHTML = `<!doctype html><html><body><script>fetch("/api/v1/me").then(r=>r.text()).then(alert)</script></body></html>`

// concrete fills a route's parameters with an object.
func concrete(route, obj string) string {
	switch {
	case strings.HasPrefix(obj, "?"):
		return route + obj
	case strings.HasPrefix(route, "/hooks/"):
		return "/hooks/" + obj
	case route == "/console/*":
		return "/console/common.js"
	}
	p := strings.NewReplacer(":id", obj, ":channel", obj).Replace(route)
	return strings.Replace(p, "*", "messages", 1)
}

func TestEndToEndAuthorizationMatrix(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			m := startMatrix(t, d)
			routes := m.d.API.Routes()
			seen := map[string]bool{}
			var missing []string
			for _, r := range routes {
				key := r.Method + " " + r.Path
				if seen[key] {
					continue // a feature may wrap a core route: echo serves the last one
				}
				seen[key] = true
				if _, ok := authzMatrix[key]; !ok {
					missing = append(missing, fmt.Sprintf("%s (access %s)", key, r.Access))
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("routes without a row in authzMatrix (say who may call them):\n  %s", strings.Join(missing, "\n  "))
			}
			var stale []string
			for key := range authzMatrix {
				if !seen[key] {
					stale = append(stale, key)
				}
			}
			sort.Strings(stale)
			if len(stale) > 0 {
				t.Errorf("rows for routes that do not exist: %v", stale)
			}
			calls := 0
			n := 0
			for _, r := range routes {
				key := r.Method + " " + r.Path
				row, ok := authzMatrix[key]
				if !ok || !seen[key] {
					continue
				}
				delete(seen, key)
				n++
				// The row's access level must agree with the table's.
				if r.Access == "admin" && row.own[2] != "403" {
					t.Errorf("%s: an admin-only route must refuse agents (403)", key)
				}
				own, theirs := m.objects(r.Path, n)
				check := func(which string, obj string, want cells) {
					for i, role := range roles {
						fresh := r.Path == "/api/v1/auth/logout"
						path := concrete(r.Path, obj)
						tok := m.token(role, fresh)
						if r.Path == "/api/v1/me/tokens/:id" && which == "own" {
							id, ok := m.userTokens[role]
							if !ok {
								id = m.userTokens["sam"] // anonymous and visitors have none
							}
							path = concrete(r.Path, strconv.FormatInt(id, 10))
						}
						if mk := matrixPaths[key]; mk != nil {
							path = mk(m, which == "own", n)
						}
						if strings.Contains(r.Path, ":linkID") {
							path = strings.Replace(path, ":linkID", strconv.FormatInt(m.freshLink(obj), 10), 1)
						}
						if r.Method == http.MethodDelete && r.Path == "/api/v1/contacts/:id" && matches(want[i], 200) {
							// An erasure that succeeds leaves nothing for the next role.
							ch := map[string]string{"own": "crm"}[which]
							if ch == "" {
								ch = "shop"
							}
							path = concrete(r.Path, m.contact(ch, 1000000+n*10+i))
						}
						st := m.do(r.Method, path, tok, row.body, nil)
						calls++
						if !matches(want[i], st) {
							t.Errorf("%s as %s on %s object (%s %s): %d, want %s", key, role, which, r.Method, path, st, want[i])
						}
					}
				}
				check("own", own, row.own)
				if row.other != nil {
					if r.Path == "/api/v1/me/tokens/:id" {
						theirs = strconv.FormatInt(m.userTokens["sam"], 10)
					}
					check("someone else's", theirs, *row.other)
				}
			}
			t.Logf("%d routes, %d calls", n, calls)
		})
	}
}

func matches(want string, status int) bool {
	if want == "ok" {
		return status != 401 && status != 403 && status != 404 && status < 500
	}
	return want == strconv.Itoa(status)
}
