package hours

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Config is a queue's (or an agent's) opening hours as written in the
// config file: queues[].timezone, queues[].hours.open, queues[].hours.close
// and queues[].holidays.
type Config struct {
	// Timezone is an IANA zone name; empty means UTC.
	Timezone string `yaml:"timezone" json:"timezone"`
	// Open and Close are 5-field cron expressions (robfig/cron v3:
	// minute hour day-of-month month day-of-week). Both empty: always open.
	// As in robfig/cron, a time that does not exist on a DST day (03:30 in
	// Europe/Helsinki on the last Sunday of March) does not fire that day,
	// and one that occurs twice fires once; hours outside 03:00–04:00 local
	// are unaffected in the EU.
	Open  string `yaml:"open" json:"open"`
	Close string `yaml:"close" json:"close"`
	// Holidays are local dates (YYYY-MM-DD) closed all day.
	Holidays []string `yaml:"holidays" json:"holidays"`
}

// Schedule is a parsed Config. It is immutable and safe for concurrent use.
type Schedule struct {
	loc              *time.Location
	open, close      *cron.SpecSchedule // both nil: always open
	openSpec, closeS string
	holidays         map[string]bool // local dates, "2006-01-02"
	// boundaries are the starts and ends of the holidays as instants,
	// sorted: the only moments besides cron events where the state changes.
	boundaries []time.Time
}

// Transition is a change of a schedule's state at an instant.
type Transition struct {
	At   time.Time
	Open bool // true: opened at At; false: closed at At
}

const (
	dateLayout = "2006-01-02"
	// horizon bounds how far NextChange looks ahead: a year covers any
	// realistic holiday run and any weekly or monthly hours.
	horizon = 370 * 24 * time.Hour
	// maxEvents bounds the work of one search: real opening hours change
	// state at nearly every event, but expressions such as "* * * * *"
	// would otherwise be stepped through minute by minute for a year.
	maxEvents = 2000
	// MaxCatchUp bounds how far back Transitions reports: after a longer
	// outage, a month of "queue opened/closed" entries is already noise.
	MaxCatchUp = 35 * 24 * time.Hour
)

// cronParser accepts exactly the 5 standard fields; no descriptors such as
// @every, which have no meaning for opening hours.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse validates cfg and returns its Schedule. Errors name the config key
// at fault (timezone, hours.open, hours.close, holidays[i]).
func Parse(cfg Config) (*Schedule, error) {
	loc, err := time.LoadLocation(strings.TrimSpace(cfg.Timezone))
	if err != nil {
		return nil, fmt.Errorf("timezone: unknown time zone %q", cfg.Timezone)
	}
	s := &Schedule{loc: loc, holidays: map[string]bool{}}
	open, close := strings.TrimSpace(cfg.Open), strings.TrimSpace(cfg.Close)
	switch {
	case open == "" && close == "":
	case open == "":
		return nil, errors.New("hours.open: is required when hours.close is set")
	case close == "":
		return nil, errors.New("hours.close: is required when hours.open is set")
	default:
		if s.open, err = parseCron(open, loc); err != nil {
			return nil, fmt.Errorf("hours.open: %w", err)
		}
		if s.close, err = parseCron(close, loc); err != nil {
			return nil, fmt.Errorf("hours.close: %w", err)
		}
		if strings.Join(strings.Fields(open), " ") == strings.Join(strings.Fields(close), " ") {
			return nil, errors.New("hours.close: is the same as hours.open")
		}
		s.openSpec, s.closeS = open, close
	}
	for i, h := range cfg.Holidays {
		d, err := time.ParseInLocation(dateLayout, strings.TrimSpace(h), loc)
		if err != nil {
			return nil, fmt.Errorf("holidays[%d]: %q is not a date (YYYY-MM-DD)", i, h)
		}
		key := d.Format(dateLayout)
		if s.holidays[key] {
			continue
		}
		s.holidays[key] = true
		s.boundaries = append(s.boundaries, d, dayAfter(d))
	}
	sort.Slice(s.boundaries, func(i, j int) bool { return s.boundaries[i].Before(s.boundaries[j]) })
	return s, nil
}

// parseCron parses one 5-field expression into a schedule in loc.
func parseCron(spec string, loc *time.Location) (*cron.SpecSchedule, error) {
	// The time zone is the queue's own key; a CRON_TZ= prefix would
	// silently disagree with it (and robfig/cron panics on some forms).
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("set the time zone with timezone, not in the expression")
	}
	if n := len(strings.Fields(spec)); n != 5 {
		return nil, fmt.Errorf("%q has %d fields, want 5 (minute hour day-of-month month day-of-week)", spec, n)
	}
	parsed, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", spec, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a cron expression", spec)
	}
	ss.Location = loc
	// Reject expressions that never fire (such as 30 February): they would
	// leave the queue closed, or open, forever without saying why.
	if ss.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("%q never fires", spec)
	}
	return ss, nil
}

// dayAfter returns the start of the local day after d (a local midnight).
func dayAfter(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, d.Location())
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Always reports whether the schedule has no hours (holidays may still
// close it).
func (s *Schedule) Always() bool { return s.open == nil }

// IsHoliday reports whether now falls on a holiday in the schedule's zone.
func (s *Schedule) IsHoliday(now time.Time) bool {
	return len(s.holidays) > 0 && s.holidays[now.In(s.loc).Format(dateLayout)]
}

// IsOpen reports whether the schedule is open at now. It is computed from
// scratch each time: open when the next close comes before the next open
// and the local date is no holiday. An instant of an opening belongs to the
// open period, an instant of a closing to the closed one.
func (s *Schedule) IsOpen(now time.Time) bool {
	return s.cronOpen(now) && !s.IsHoliday(now)
}

// cronOpen is IsOpen without holidays.
func (s *Schedule) cronOpen(now time.Time) bool {
	if s.open == nil {
		return true
	}
	nextOpen, nextClose := s.open.Next(now), s.close.Next(now)
	switch {
	case nextClose.IsZero(): // never closes again (within cron's 5 years)
		return false
	case nextOpen.IsZero():
		return true
	}
	return nextClose.Before(nextOpen)
}

// NextChange returns the next instant after now at which IsOpen changes,
// holidays included; the zero time when nothing changes within a year
// (always open, for instance) or within a few thousand cron events.
func (s *Schedule) NextChange(now time.Time) time.Time {
	t, _ := s.nextChange(now, now.Add(horizon))
	return t
}

// nextChange returns the first instant in (after, limit] where the state
// differs from the state at after.
func (s *Schedule) nextChange(after, limit time.Time) (time.Time, bool) {
	state := s.IsOpen(after)
	for cur, n := after, 0; n < maxEvents; n++ {
		c := s.nextEvent(cur)
		if c.IsZero() || c.After(limit) {
			return time.Time{}, false
		}
		// Events that do not change the state (an opening while open, the
		// end of one holiday and start of the next) are stepped over.
		if s.IsOpen(c) != state {
			return c, true
		}
		cur = c
	}
	return time.Time{}, false
}

// nextEvent returns the earliest instant after t at which the state may
// change: a cron opening or closing, or a holiday's start or end. Zero when
// there is none.
func (s *Schedule) nextEvent(t time.Time) time.Time {
	var best time.Time
	consider := func(c time.Time) {
		if !c.IsZero() && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if s.open != nil {
		consider(s.open.Next(t))
		consider(s.close.Next(t))
	}
	i := sort.Search(len(s.boundaries), func(i int) bool { return s.boundaries[i].After(t) })
	if i < len(s.boundaries) {
		consider(s.boundaries[i])
	}
	return best.In(t.Location())
}

// Transitions returns the changes of state in (from, to], oldest first: what
// a scheduler records as "queue opened/closed" when it runs, and what it
// catches up on after a restart or a clock jump. It looks back at most
// MaxCatchUp before to. The override is not taken into account.
func Transitions(s *Schedule, from, to time.Time) []Transition {
	if earliest := to.Add(-MaxCatchUp); from.Before(earliest) {
		from = earliest
	}
	var out []Transition
	for t := from; ; {
		c, ok := s.nextChange(t, to)
		if !ok {
			return out
		}
		out = append(out, Transition{At: c, Open: s.IsOpen(c)})
		t = c
	}
}

// lastChange returns the latest change of state in (after, now], looking
// back at most a year; ok is false when there is none.
func (s *Schedule) lastChange(after, now time.Time) (time.Time, bool) {
	for back := 8 * 24 * time.Hour; ; back *= 2 {
		lo := now.Add(-back)
		capped := back >= horizon
		if !lo.After(after) {
			lo, capped = after, true
		}
		var last time.Time
		for t := lo; ; {
			c, ok := s.nextChange(t, now)
			if !ok {
				break
			}
			last, t = c, c
		}
		if !last.IsZero() {
			return last, true
		}
		if capped {
			return time.Time{}, false
		}
	}
}
