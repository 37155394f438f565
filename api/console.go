package api

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// The web console: server-rendered HTML shells (html/template) that carry
// no customer data, and small vanilla JavaScript files that fetch the JSON
// API and render everything user-supplied with textContent. No framework
// and no build step: `go build` is all it takes, the files are readable as
// shipped, and the CSP can forbid inline script outright.

//go:embed console
var consoleFS embed.FS

// consoleCSP is the pages' policy: scripts, styles and connections only
// from inboxd itself, nothing inline, no framing, no plugins.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ConsoleStore is the storage the console needs beyond the core API.
type ConsoleStore interface {
	Users(ctx context.Context) ([]inbox.User, error)
	APITokens(ctx context.Context, userID int64) ([]TokenView, error)
	DeleteAPIToken(ctx context.Context, userID, id int64) error
	// SetPassword stores a new hash and ends the user's sessions other
	// than keepSession (a token hash), and with revokeAPITokens the user's
	// API tokens too.
	SetPassword(ctx context.Context, userID int64, hash, keepSession string, revokeAPITokens bool) error
	// SetUserName stores the user's display name and returns the user.
	SetUserName(ctx context.Context, userID int64, name string) (*inbox.User, error)
	StatusCounts(ctx context.Context, queue, channelID string) (map[inbox.Status]int64, error)
	ConversationStats(ctx context.Context, queue string, from, to time.Time) ([]StatConversation, error)
	ConversationActivities(ctx context.Context, conversationID int64, limit int) ([]inbox.Activity, error)
}

// TokenView is an API token as its owner sees it (never the token).
type TokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// StatConversation is one conversation as the statistics count it.
type StatConversation struct {
	ID           int64
	ChannelID    string
	Status       inbox.Status
	CreatedAt    time.Time
	FirstReplyAt time.Time // zero: not answered yet
}

// ConsoleQueue is a configured queue as the console lists it.
type ConsoleQueue struct {
	ID       string
	Name     string
	Location *time.Location // statistics count days here (nil: UTC)
}

// page is what every console template gets.
type page struct {
	Title  string
	Page   string // the nav entry to highlight and the script to load
	User   UserView
	Admin  bool
	Queues []ConsoleQueue
	Data   any
}

// consolePages are parsed once, on first use, from the embedded files.
var consolePages = sync.OnceValue(consoleTemplates)

// consoleTemplates parses each page with the shared layout.
func consoleTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"duration": humanDuration,
		"count":    func(m map[inbox.Status]int, s string) int { return m[inbox.Status(s)] },
		"secs":     func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(consoleFS, "console/layout.html"))
	names, err := fs.Glob(consoleFS, "console/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(consoleFS, n))
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out
}

// pageEntry is the template a page starts from: its own for the pages
// shown before a login (no header, no session), else the layout.
func pageEntry(name string) string {
	if name == "login" || name == "invite" || name == "sso_error" { // pages without the layout
		return name + ".html"
	}
	return "layout.html"
}

// render writes a page with the console's CSP.
func (s *Server) render(c echo.Context, status int, name string, p page) error {
	t, ok := consolePages()[name]
	if !ok {
		return inbox.Errorf(inbox.EInternal, "no page %q", name)
	}
	var buf bytes.Buffer
	entry := pageEntry(name)
	if err := t.ExecuteTemplate(&buf, entry, p); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// pageAccess is who may open a console page. Pages are Public in the
// route table because an anonymous visitor is redirected to the login
// page rather than answered with JSON; the check below is the same as the
// guard's, in one place for all pages.
func (s *Server) consolePage(name, title string, admin bool, data func(c echo.Context, u *inbox.User) (any, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.authenticate(c)
		if err != nil {
			if inbox.ErrorCode(err) == inbox.EUnauthorized {
				return c.Redirect(http.StatusSeeOther, "/login?next="+safeNext(c.Request().URL.RequestURI()))
			}
			return err
		}
		if inbox.NeedsEnrolment(u, s.o.Auth.Require2FA) && name != "settings" {
			return c.Redirect(http.StatusSeeOther, "/settings#two-factor")
		}
		p := page{Title: title, Page: name, User: userView(u), Admin: u.Role.IsAdmin(), Queues: s.visibleQueues(u)}
		if admin && !u.Role.IsAdmin() {
			p.Title, p.Page = "Not for agents", "forbidden"
			p.Data = title
			return s.render(c, http.StatusForbidden, "forbidden", p)
		}
		if data != nil {
			if p.Data, err = data(c, u); err != nil {
				return err
			}
		}
		return s.render(c, http.StatusOK, name, p)
	}
}

// visibleQueues are the queues a user serves (admins: all).
func (s *Server) visibleQueues(u *inbox.User) []ConsoleQueue {
	var out []ConsoleQueue
	for _, q := range s.o.Console.Queues {
		if u.Role.IsAdmin() || inbox.ServesQueue(u, q.ID) {
			out = append(out, q)
		}
	}
	return out
}

// safeNext keeps a post-login redirect on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(uri string) string {
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") {
		return "/"
	}
	return template.URLQueryEscaper(uri)
}

// loginPage shows the login form, or sends a logged-in user on.
func (s *Server) loginPage(c echo.Context) error {
	if _, err := s.authenticate(c); err == nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.render(c, http.StatusOK, "login", page{Title: "Log in", Page: "login", Data: s.loginData()})
}

// home sends admins to the journal and agents to their conversations.
func (s *Server) home(c echo.Context) error {
	u, err := s.authenticate(c)
	if err != nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	if inbox.CanViewJournal(u) {
		return c.Redirect(http.StatusSeeOther, "/journal")
	}
	return c.Redirect(http.StatusSeeOther, "/inbox")
}

// asset serves a file of the console (JS, CSS, icons).
func (s *Server) asset(c echo.Context) error {
	name := path.Clean("/" + c.Param("*"))
	ext := path.Ext(name)
	if ext == ".html" || strings.Contains(name, "..") {
		return inbox.Errorf(inbox.ENotFound, "not found")
	}
	b, err := consoleFS.ReadFile("console/assets" + name)
	if err != nil {
		return inbox.Errorf(inbox.ENotFound, "not found")
	}
	ctype := mime.TypeByExtension(ext)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, ctype, b)
}

// humanDuration prints a duration the way people read response times.
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		m := d / time.Minute
		sec := (d % time.Minute) / time.Second
		if sec == 0 {
			return strconv.FormatInt(int64(m), 10) + "m"
		}
		return strconv.FormatInt(int64(m), 10) + "m " + strconv.FormatInt(int64(sec), 10) + "s"
	}
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	return strconv.FormatInt(int64(h), 10) + "h " + strconv.FormatInt(int64(m), 10) + "m"
}

// QueueStats are a queue's statistics over a range of days.
type QueueStats struct {
	Queue    string         `json:"queue"`
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Days     []string       `json:"days"` // YYYY-MM-DD in the queue's timezone
	Channels []ChannelStats `json:"channels"`
	Total    int            `json:"total"`
	// Answered conversations have had a reply; FirstResponse is measured
	// over them: from the conversation's start to the team's first reply.
	Answered      int           `json:"answered"`
	FirstResponse FirstResponse `json:"first_response"`
}

// ChannelStats are one channel's conversations: started per day, and by
// their current status.
type ChannelStats struct {
	inbox.ChannelRef
	PerDay []int                `json:"per_day"`
	Status map[inbox.Status]int `json:"status"`
	Total  int                  `json:"total"`
}

// FirstResponse summarizes first-response times, in seconds.
type FirstResponse struct {
	Median  float64 `json:"median_seconds"`
	Average float64 `json:"average_seconds"`
	P90     float64 `json:"p90_seconds"`
}

// statsRange is the [from, to) of the last days days, in whole days of loc.
func statsRange(now time.Time, loc *time.Location, days int) (time.Time, time.Time) {
	n := now.In(loc)
	to := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc)
	return to.AddDate(0, 0, -days), to
}

// computeStats counts rows (conversations started in [from, from+days))
// per channel, day and status. Channels of the queue with no conversation
// are listed too, so the chart's legend is stable.
func computeStats(queue string, rows []StatConversation, channels []inbox.ChannelInfo, loc *time.Location, from time.Time, days int) QueueStats {
	st := QueueStats{Queue: queue, From: from, To: from.AddDate(0, 0, days), Days: make([]string, days), Channels: []ChannelStats{}}
	for i := range days {
		st.Days[i] = from.AddDate(0, 0, i).Format(time.DateOnly)
	}
	idx := map[string]int{}
	add := func(ref inbox.ChannelRef) int {
		if i, ok := idx[ref.ID]; ok {
			return i
		}
		idx[ref.ID] = len(st.Channels)
		st.Channels = append(st.Channels, ChannelStats{ChannelRef: ref, PerDay: make([]int, days),
			Status: map[inbox.Status]int{inbox.StatusUnassigned: 0, inbox.StatusActive: 0, inbox.StatusInactive: 0}})
		return len(st.Channels) - 1
	}
	for _, c := range channels {
		if c.Queue == queue {
			add(c.Ref())
		}
	}
	var waits []time.Duration
	for _, r := range rows {
		i, ok := idx[r.ChannelID]
		if !ok { // a channel since removed from the config
			i = add(inbox.ChannelRef{ID: r.ChannelID, Name: r.ChannelID})
		}
		cs := &st.Channels[i]
		day := r.CreatedAt.In(loc)
		d := int(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Sub(from).Hours()+12) / 24
		if d >= 0 && d < days {
			cs.PerDay[d]++
		}
		cs.Status[r.Status]++
		cs.Total++
		st.Total++
		if !r.FirstReplyAt.IsZero() {
			st.Answered++
			waits = append(waits, max(r.FirstReplyAt.Sub(r.CreatedAt), 0))
		}
	}
	if len(waits) > 0 {
		slices.Sort(waits)
		var sum time.Duration
		for _, w := range waits {
			sum += w
		}
		pick := func(q float64) float64 { return waits[int(q*float64(len(waits)-1)+0.5)].Seconds() }
		st.FirstResponse = FirstResponse{Median: pick(0.5), Average: (sum / time.Duration(len(waits))).Seconds(), P90: pick(0.9)}
	}
	return st
}

// chart is a stacked bar chart of conversations per day and channel,
// drawn by the server as SVG (no script, no chart library).
type chart struct {
	Width, Height int
	Bars          []chartBar
	Grid          []chartTick
	Labels        []chartLabel
	Legend        []chartLegend
	Empty         bool
}

type chartBar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X     float64
	Label string
}

type chartLegend struct {
	X     float64
	Fill  string
	Label string
}

// channelColors are distinguishable on white and for most colour-blind
// readers (Okabe-Ito).
var channelColors = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

func buildChart(st QueueStats) chart {
	const (
		w, h                     = 760, 260
		left, right, top, bottom = 40.0, 10.0, 28.0, 28.0
	)
	ch := chart{Width: w, Height: h}
	days := len(st.Days)
	maxDay := 0
	for d := range days {
		sum := 0
		for _, c := range st.Channels {
			sum += c.PerDay[d]
		}
		maxDay = max(maxDay, sum)
	}
	ch.Empty = maxDay == 0
	step := niceStep(maxDay)
	top2 := max(step*((maxDay+step-1)/step), step)
	plotH := float64(h) - top - bottom
	plotW := float64(w) - left - right
	for v := 0; v <= top2; v += step {
		ch.Grid = append(ch.Grid, chartTick{Y: top + plotH - plotH*float64(v)/float64(top2), Label: strconv.Itoa(v)})
	}
	if days == 0 {
		return ch
	}
	slot := plotW / float64(days)
	bw := max(slot*0.7, 1)
	every := max(1, days/8)
	for d := range days {
		x := left + slot*float64(d) + (slot-bw)/2
		y := top + plotH
		for i, c := range st.Channels {
			n := c.PerDay[d]
			if n == 0 {
				continue
			}
			bh := plotH * float64(n) / float64(top2)
			y -= bh
			ch.Bars = append(ch.Bars, chartBar{X: x, Y: y, W: bw, H: bh, Fill: channelColors[i%len(channelColors)],
				Title: st.Days[d] + " · " + c.Name + ": " + strconv.Itoa(n)})
		}
		if d%every == 0 {
			ch.Labels = append(ch.Labels, chartLabel{X: x + bw/2, Label: st.Days[d][5:]})
		}
	}
	lx := left
	for i, c := range st.Channels {
		ch.Legend = append(ch.Legend, chartLegend{X: lx, Fill: channelColors[i%len(channelColors)], Label: c.Name})
		lx += 24 + 7*float64(len([]rune(c.Name)))
	}
	return ch
}

// niceStep is a grid step of 1, 2 or 5 times a power of ten giving at most
// five lines.
func niceStep(maxV int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if maxV <= 5*m*p {
				return m * p
			}
		}
	}
}
