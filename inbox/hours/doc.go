// Package hours owns the pure rules of opening hours: a queue's schedule
// (open and close cron expressions in a time zone, minus holidays), the
// global override, the queue mode the customer sees, the transitions a
// scheduler records, and agents' presence (business hours, manual changes,
// idle timeout).
//
// Nothing here remembers state or reads the clock: every answer is computed
// from the configuration and an instant the caller passes, so the state is
// right after a restart or a clock jump and tests need no sleeping.
package hours
