package inbox

import "time"

// Clock tells the time. The service and every scheduler take one so that
// tests can move time without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC, truncated to microseconds (the
// precision both stores keep).
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }
