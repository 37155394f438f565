// Package queues runs opening hours, agent presence, registered contacts
// and notifications in the daemon: it records a queue's transitions as
// they happen (and those it missed), switches agents by their business
// hours and idleness, decides what customers see (the queue mode), takes
// the offline contact form, answers first on closed queues, and tells
// agents what happened by live feed and email.
//
// The rules themselves are pure and live in inbox/hours and inbox/notify;
// this package applies them to the store through the Store interface, with
// an injected clock, and never imports echo or gorm.
package queues
