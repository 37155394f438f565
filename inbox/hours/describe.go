package hours

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"

	"github.com/robfig/cron/v3"
)

// starBit is robfig/cron's marker for a field written as "*".
const starBit = 1 << 63

// weekOrder lists cron's weekday numbers from Monday, the order people read.
var weekOrder = [7]int{1, 2, 3, 4, 5, 6, 0}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// Describe returns the hours in a human form, such as
// "Mon–Fri 09:00–17:00 Europe/Helsinki", "Daily 22:00–06:00 UTC" or
// "Mon–Fri 09:00–12:00, 13:00–17:00 Europe/Helsinki". Shapes it cannot put in
// words are shown as their cron expressions. Holidays are not included.
func (s *Schedule) Describe() string {
	if s.open == nil {
		return "Always open"
	}
	if d, ok := describeWeekly(s.open, s.close); ok {
		return d + " " + s.loc.String()
	}
	return fmt.Sprintf("opens %q, closes %q %s", s.openSpec, s.closeS, s.loc.String())
}

// describeWeekly handles hours that repeat every week: every day-of-month,
// every month, and the same times of day on each open day.
func describeWeekly(open, close *cron.SpecSchedule) (string, bool) {
	if !everyDay(open) || !everyDay(close) {
		return "", false
	}
	opens, closes := timesOfDay(open), timesOfDay(close)
	if len(opens) == 0 || len(opens) != len(closes) {
		return "", false
	}
	days := open.Dow &^ starBit
	cdays := close.Dow &^ starBit
	n := len(opens)
	var spans []string
	if closes[0] > opens[0] {
		// Same-day periods: open₁ < close₁ < open₂ < close₂ ...
		if cdays != days {
			return "", false
		}
		for i := 0; i < n; i++ {
			if closes[i] <= opens[i] || (i+1 < n && opens[i+1] <= closes[i]) {
				return "", false
			}
			spans = append(spans, clock(opens[i])+"–"+clock(closes[i]))
		}
	} else {
		// An overnight shift closes on the following day.
		if n != 1 || cdays != rotateDays(days) {
			return "", false
		}
		spans = append(spans, clock(opens[0])+"–"+clock(closes[0]))
	}
	return formatDays(days) + " " + strings.Join(spans, ", "), true
}

// everyDay reports whether the expression fires on every day-of-month and
// month, leaving only weekdays and times of day to describe.
func everyDay(s *cron.SpecSchedule) bool {
	return s.Dom&starBit != 0 && s.Month&starBit != 0
}

// timesOfDay lists the minutes after midnight at which s fires, sorted;
// nil when there are too many to be read as opening hours.
func timesOfDay(s *cron.SpecSchedule) []int {
	h, m := s.Hour&^starBit, s.Minute&^starBit
	if bits.OnesCount64(h)*bits.OnesCount64(m) > 4 {
		return nil
	}
	var out []int
	for hour := 0; hour < 24; hour++ {
		for min := 0; min < 60; min++ {
			if h&(1<<hour) != 0 && m&(1<<min) != 0 {
				out = append(out, hour*60+min)
			}
		}
	}
	sort.Ints(out)
	return out
}

// rotateDays moves each weekday bit to the following day.
func rotateDays(d uint64) uint64 { return ((d << 1) | (d >> 6)) & 0x7f }

// clock formats minutes after midnight as HH:MM.
func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// formatDays writes weekdays from Monday: "Daily", "Mon–Fri", "Sat, Sun",
// "Mon, Wed, Fri", "Mon–Thu, Sat".
func formatDays(d uint64) string {
	if d&0x7f == 0x7f {
		return "Daily"
	}
	var parts []string
	for i := 0; i < 7; {
		if d&(1<<weekOrder[i]) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < 7 && d&(1<<weekOrder[j+1]) != 0 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, dayNames[weekOrder[i]]+"–"+dayNames[weekOrder[j]])
		default:
			for k := i; k <= j; k++ {
				parts = append(parts, dayNames[weekOrder[k]])
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
