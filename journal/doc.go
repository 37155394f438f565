// Package journal owns the read side of inboxd: the unified conversation
// list with filters and keyset pages, conversation messages, the queue
// activity log, and the live feed hub that fans committed events out to
// subscribers with per-viewer filtering and replay by event id.
package journal
