package hours

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo
)

var helsinki = mustLoad("Europe/Helsinki")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local parses "2006-01-02 15:04" in Helsinki.
func local(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, helsinki)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// utc parses "2006-01-02 15:04" in UTC.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustParse(t *testing.T, cfg Config) *Schedule {
	t.Helper()
	s, err := Parse(cfg)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", cfg, err)
	}
	return s
}

var officeHours = Config{
	Timezone: "Europe/Helsinki",
	Open:     "0 9 * * MON-FRI",
	Close:    "0 17 * * MON-FRI",
}

// officeOracle is the office-hours rule written without cron: Mon–Fri,
// 09:00 to 17:00 local time, not on a holiday.
func officeOracle(now time.Time, holidays ...string) bool {
	l := now.In(helsinki)
	for _, h := range holidays {
		if l.Format("2006-01-02") == h {
			return false
		}
	}
	wd := l.Weekday()
	return wd >= time.Monday && wd <= time.Friday && l.Hour() >= 9 && l.Hour() < 17
}

// TestWeekAcrossDST walks both 2026 EU DST changes every 15 minutes in UTC,
// with a holiday in each week, and compares IsOpen with the oracle; it also
// pins the transitions to UTC instants, which move by an hour with DST.
func TestWeekAcrossDST(t *testing.T) {
	tests := []struct {
		name     string
		from, to string // UTC
		holiday  string
		want     []Transition
	}{
		{
			name: "october, EEST to EET on Sunday 25th", from: "2026-10-22 22:00", to: "2026-10-30 22:00",
			holiday: "2026-10-28",
			want: []Transition{
				{utc(t, "2026-10-23 06:00"), true}, // Fri 09:00 EEST (UTC+3)
				{utc(t, "2026-10-23 14:00"), false},
				{utc(t, "2026-10-26 07:00"), true}, // Mon 09:00 EET (UTC+2)
				{utc(t, "2026-10-26 15:00"), false},
				{utc(t, "2026-10-27 07:00"), true},
				{utc(t, "2026-10-27 15:00"), false},
				// Wednesday 28th is a holiday.
				{utc(t, "2026-10-29 07:00"), true},
				{utc(t, "2026-10-29 15:00"), false},
				{utc(t, "2026-10-30 07:00"), true},
				{utc(t, "2026-10-30 15:00"), false},
			},
		},
		{
			name: "march, EET to EEST on Sunday 29th", from: "2026-03-26 22:00", to: "2026-04-03 21:00",
			holiday: "2026-04-01",
			want: []Transition{
				{utc(t, "2026-03-27 07:00"), true}, // Fri 09:00 EET (UTC+2)
				{utc(t, "2026-03-27 15:00"), false},
				{utc(t, "2026-03-30 06:00"), true}, // Mon 09:00 EEST (UTC+3)
				{utc(t, "2026-03-30 14:00"), false},
				{utc(t, "2026-03-31 06:00"), true},
				{utc(t, "2026-03-31 14:00"), false},
				{utc(t, "2026-04-02 06:00"), true},
				{utc(t, "2026-04-02 14:00"), false},
				{utc(t, "2026-04-03 06:00"), true},
				{utc(t, "2026-04-03 14:00"), false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := officeHours
			cfg.Holidays = []string{tt.holiday}
			s := mustParse(t, cfg)
			from, to := utc(t, tt.from), utc(t, tt.to)
			for now := from; !now.After(to); now = now.Add(15 * time.Minute) {
				if got, want := s.IsOpen(now), officeOracle(now, tt.holiday); got != want {
					t.Fatalf("IsOpen(%s = %s) = %v, want %v", now.Format(time.RFC3339), now.In(helsinki), got, want)
				}
			}
			assertTransitions(t, Transitions(s, from, to), tt.want)
		})
	}
}

func assertTransitions(t *testing.T, got, want []Transition) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d transitions %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Open != want[i].Open {
			t.Errorf("transition %d = %s open=%v, want %s open=%v", i,
				got[i].At.UTC().Format(time.RFC3339), got[i].Open, want[i].At.UTC().Format(time.RFC3339), want[i].Open)
		}
	}
}

// TestNextChange checks the next transition from instants a freshly started
// daemon could see: mid-period, at the boundaries, before a holiday and
// across a DST change.
func TestNextChange(t *testing.T) {
	cfg := officeHours
	cfg.Holidays = []string{"2026-12-24", "2026-12-25"}
	s := mustParse(t, cfg)
	tests := []struct {
		now      string
		open     bool
		next     string
		nextOpen bool
	}{
		{"2026-06-10 12:00", true, "2026-06-10 17:00", false}, // Wednesday, mid-period
		{"2026-06-10 09:00", true, "2026-06-10 17:00", false}, // the opening instant is open
		{"2026-06-10 17:00", false, "2026-06-11 09:00", true}, // the closing instant is closed
		{"2026-06-10 08:59", false, "2026-06-10 09:00", true}, // a minute before
		{"2026-06-12 17:30", false, "2026-06-15 09:00", true}, // Friday evening: Monday
		{"2026-06-13 12:00", false, "2026-06-15 09:00", true}, // Saturday
		{"2026-12-23 12:00", true, "2026-12-23 17:00", false}, // the day before Christmas Eve
		{"2026-12-23 17:00", false, "2026-12-28 09:00", true}, // skips Thu, Fri holidays and the weekend
		{"2026-12-24 10:00", false, "2026-12-28 09:00", true}, // during the holiday
		{"2026-10-23 18:00", false, "2026-10-26 09:00", true}, // over the DST weekend (EEST to EET)
		{"2026-03-27 18:00", false, "2026-03-30 09:00", true}, // over the DST weekend (EET to EEST)
	}
	for _, tt := range tests {
		now := local(t, tt.now)
		if got := s.IsOpen(now); got != tt.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tt.now, got, tt.open)
		}
		next := s.NextChange(now)
		if want := local(t, tt.next); !next.Equal(want) {
			t.Errorf("NextChange(%s) = %s, want %s", tt.now, next.In(helsinki), want)
		}
		if got := s.IsOpen(next); got != tt.nextOpen {
			t.Errorf("IsOpen(NextChange(%s)) = %v, want %v", tt.now, got, tt.nextOpen)
		}
		// The same answers in another zone: the caller's zone is irrelevant.
		if s.IsOpen(now.UTC()) != tt.open || !s.NextChange(now.UTC()).Equal(next) {
			t.Errorf("%s: answers differ when asked in UTC", tt.now)
		}
	}
}

// TestRestartMidPeriod: a schedule parsed from scratch (a restarted daemon)
// gives the same answer as one that has been running, with no memory.
func TestRestartMidPeriod(t *testing.T) {
	running := mustParse(t, officeHours)
	start := local(t, "2026-06-08 00:00")
	for now := start; now.Before(start.Add(7 * 24 * time.Hour)); now = now.Add(47 * time.Minute) {
		restarted := mustParse(t, officeHours)
		if restarted.IsOpen(now) != running.IsOpen(now) || restarted.IsOpen(now) != officeOracle(now) {
			t.Fatalf("%s: restarted=%v running=%v oracle=%v", now, restarted.IsOpen(now), running.IsOpen(now), officeOracle(now))
		}
	}
}

// TestOvernightShift: open 22:00, close 06:00 the next morning, every night,
// through both DST nights (the March night is an hour shorter, the October
// night an hour longer).
func TestOvernightShift(t *testing.T) {
	s := mustParse(t, Config{Timezone: "Europe/Helsinki", Open: "0 22 * * *", Close: "0 6 * * *"})
	for _, tt := range []struct {
		now  string
		open bool
	}{
		{"2026-06-10 21:59", false}, {"2026-06-10 22:00", true}, {"2026-06-11 00:00", true},
		{"2026-06-11 05:59", true}, {"2026-06-11 06:00", false}, {"2026-06-11 12:00", false},
	} {
		if got := s.IsOpen(local(t, tt.now)); got != tt.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tt.now, got, tt.open)
		}
	}
	for _, tt := range []struct {
		name       string
		open, shut string // UTC
		length     time.Duration
	}{
		{"march", "2026-03-28 20:00", "2026-03-29 03:00", 7 * time.Hour},
		{"october", "2026-10-24 19:00", "2026-10-25 04:00", 9 * time.Hour},
	} {
		open := utc(t, tt.open)
		got := Transitions(s, open.Add(-time.Minute), open.Add(tt.length+time.Minute))
		assertTransitions(t, got, []Transition{{open, true}, {utc(t, tt.shut), false}})
		if d := got[1].At.Sub(got[0].At); d != tt.length {
			t.Errorf("%s night lasts %v, want %v", tt.name, d, tt.length)
		}
	}
}

// TestOvernightIntoHoliday: a night shift is cut at the holiday's midnight
// and resumes at the next midnight, when its cron period is still running.
func TestOvernightIntoHoliday(t *testing.T) {
	s := mustParse(t, Config{Timezone: "Europe/Helsinki", Open: "0 22 * * *", Close: "0 6 * * *", Holidays: []string{"2026-12-25"}})
	got := Transitions(s, local(t, "2026-12-24 12:00"), local(t, "2026-12-26 12:00"))
	assertTransitions(t, got, []Transition{
		{local(t, "2026-12-24 22:00"), true},
		{local(t, "2026-12-25 00:00"), false},
		{local(t, "2026-12-26 00:00"), true},
		{local(t, "2026-12-26 06:00"), false},
	})
}

func TestAlwaysOpen(t *testing.T) {
	s := mustParse(t, Config{})
	now := utc(t, "2026-06-10 03:00")
	if !s.IsOpen(now) || !s.Always() {
		t.Fatal("a schedule without hours must be open")
	}
	if next := s.NextChange(now); !next.IsZero() {
		t.Errorf("NextChange = %s, want zero (never changes)", next)
	}
	if got := Transitions(s, now, now.Add(30*24*time.Hour)); len(got) != 0 {
		t.Errorf("Transitions = %v, want none", got)
	}

	h := mustParse(t, Config{Timezone: "Europe/Helsinki", Holidays: []string{"2026-06-19", "2026-06-20"}})
	if !h.IsOpen(local(t, "2026-06-18 23:59")) || h.IsOpen(local(t, "2026-06-19 00:00")) || h.IsOpen(local(t, "2026-06-20 23:59")) {
		t.Error("holidays must close an always-open schedule for their whole local days")
	}
	assertTransitions(t, Transitions(h, local(t, "2026-06-18 12:00"), local(t, "2026-06-22 00:00")), []Transition{
		{local(t, "2026-06-19 00:00"), false},
		{local(t, "2026-06-21 00:00"), true}, // two holidays in a row: one closed period
	})
}

// TestTransitionsCatchUp: after a clock jump or downtime the scheduler asks
// for the transitions it missed; each is reported once, in order.
func TestTransitionsCatchUp(t *testing.T) {
	s := mustParse(t, officeHours)
	from, to := local(t, "2026-06-12 16:00"), local(t, "2026-06-15 10:00")
	assertTransitions(t, Transitions(s, from, to), []Transition{
		{local(t, "2026-06-12 17:00"), false},
		{local(t, "2026-06-15 09:00"), true},
	})
	// (from, to]: a transition at from was recorded by the previous run.
	assertTransitions(t, Transitions(s, local(t, "2026-06-12 17:00"), local(t, "2026-06-15 09:00")), []Transition{
		{local(t, "2026-06-15 09:00"), true},
	})
	if got := Transitions(s, to, to); len(got) != 0 {
		t.Errorf("empty interval gave %v", got)
	}
	// A year of downtime reports at most MaxCatchUp of transitions.
	long := Transitions(s, to.AddDate(-1, 0, 0), to)
	if len(long) == 0 || to.Sub(long[0].At) > MaxCatchUp {
		t.Fatalf("catch-up not bounded: %d transitions, first %v", len(long), long[0].At)
	}
	for i := 1; i < len(long); i++ {
		if long[i].Open == long[i-1].Open || !long[i].At.After(long[i-1].At) {
			t.Fatalf("transitions %d and %d do not alternate in order: %v %v", i-1, i, long[i-1], long[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Timezone: "Mars/Olympus"}, "timezone: "},
		{Config{Open: "0 9 * * MON-FRI"}, "hours.close: is required"},
		{Config{Close: "0 17 * * MON-FRI"}, "hours.open: is required"},
		{Config{Open: "0 25 * * *", Close: "0 17 * * *"}, "hours.open: "},
		{Config{Open: "0 9 * * *", Close: "0 17 * *"}, "hours.close: "},
		{Config{Open: "0 0 9 * * *", Close: "0 17 * * *"}, "hours.open: "}, // 6 fields (seconds)
		{Config{Open: "@daily", Close: "0 17 * * *"}, "hours.open: "},
		{Config{Open: "0 9 * * FUNDAY", Close: "0 17 * * *"}, "hours.open: "},
		{Config{Open: "0 9 30 2 *", Close: "0 17 * * *"}, "hours.open: "}, // never fires
		{Config{Open: "CRON_TZ=Europe/Helsinki 0 9 * * *", Close: "0 17 * * *"}, "hours.open: "},
		{Config{Open: "TZ=UTC", Close: "0 17 * * *"}, "hours.open: "}, // panics inside robfig/cron if passed on
		{Config{Open: "0 9 * * *", Close: "0  9 * * *"}, "hours.close: is the same"},
		{Config{Holidays: []string{"2026-12-24", "24.12.2026"}}, "holidays[1]: "},
		{Config{Holidays: []string{"2026-02-30"}}, "holidays[0]: "},
	}
	for _, tt := range tests {
		_, err := Parse(tt.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%+v) = %v, want an error starting %q", tt.cfg, err, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{officeHours, "Mon–Fri 09:00–17:00 Europe/Helsinki"},
		{Config{Open: "30 8 * * *", Close: "0 20 * * *"}, "Daily 08:30–20:00 UTC"},
		{Config{Open: "0 10 * * SAT,SUN", Close: "0 14 * * 6,0"}, "Sat, Sun 10:00–14:00 UTC"},
		{Config{Open: "0 9 * * 1,3,5", Close: "0 17 * * 1,3,5"}, "Mon, Wed, Fri 09:00–17:00 UTC"},
		{Config{Open: "0 9 * * 1-4,6", Close: "0 17 * * 1-4,6"}, "Mon–Thu, Sat 09:00–17:00 UTC"},
		{Config{Open: "0 22 * * *", Close: "0 6 * * *"}, "Daily 22:00–06:00 UTC"},
		{Config{Open: "0 22 * * MON-FRI", Close: "0 6 * * TUE-SAT"}, "Mon–Fri 22:00–06:00 UTC"},
		{Config{Open: "0 9,13 * * MON-FRI", Close: "0 12,17 * * MON-FRI"}, "Mon–Fri 09:00–12:00, 13:00–17:00 UTC"},
		{Config{}, "Always open"},
		// Shapes without a simple form fall back to the expressions.
		{Config{Open: "0 9 1 * *", Close: "0 17 1 * *"}, `opens "0 9 1 * *", closes "0 17 1 * *" UTC`},
		{Config{Open: "0 9 * * MON-FRI", Close: "0 17 * * MON-THU"}, `opens "0 9 * * MON-FRI", closes "0 17 * * MON-THU" UTC`},
		{Config{Open: "*/5 * * * *", Close: "0 17 * * *"}, `opens "*/5 * * * *", closes "0 17 * * *" UTC`},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.cfg).Describe(); got != tt.want {
			t.Errorf("Describe(%q, %q) = %q, want %q", tt.cfg.Open, tt.cfg.Close, got, tt.want)
		}
	}
}

// TestBusyExpressionsAreBounded: expressions that fire every minute without
// changing the state must not make a request search a year minute by minute.
func TestBusyExpressionsAreBounded(t *testing.T) {
	s := mustParse(t, Config{Open: "* * * * *", Close: "0 17 * * *"})
	start := time.Now()
	now := utc(t, "2026-06-10 12:00")
	_ = s.NextChange(now)
	_ = Transitions(s, now.Add(-MaxCatchUp), now)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("0 9 * * MON-FRI", "0 17 * * MON-FRI", "Europe/Helsinki", "2026-12-24")
	f.Add("0 22 * * *", "0 6 * * *", "UTC", "2026-03-29")
	f.Add("TZ=UTC", "*/5 * * * *", "", "x")
	f.Add("0 9 29 2 *", "0 17 1-31/2 * 1", "America/Sao_Paulo", "2026-10-25")
	f.Fuzz(func(t *testing.T, open, close, tz, holiday string) {
		s, err := Parse(Config{Timezone: tz, Open: open, Close: close, Holidays: []string{holiday}})
		if err != nil {
			return
		}
		now := time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC)
		_ = s.Describe()
		state := s.IsOpen(now)
		if next := s.NextChange(now); !next.IsZero() {
			if !next.After(now) || s.IsOpen(next) == state {
				t.Fatalf("NextChange(%s) = %s does not change the state %v", now, next, state)
			}
		}
		_ = Transitions(s, now, now.Add(72*time.Hour))
	})
}
