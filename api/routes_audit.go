package api

import (
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// The audit log's reading side. Entries are written
// by the changes they record; no route updates or deletes one.

// maxAuditExport bounds one CSV export (keyset pages continue with before).
const maxAuditExport = 10000

func (s *Server) auditRoutes() []Route {
	if s.o.Accounts.Store == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/audit", Admin, s.auditList},
		{http.MethodGet, "/audit", Public, s.consolePage("audit", "Audit log", true, nil)},
	}
}

// auditFilter reads ?actor=&action=&before=&limit=; limit bounds a JSON
// page (a CSV export takes up to maxAuditExport).
func auditFilter(c echo.Context, defLimit, maxLimit int) (inbox.AuditFilter, error) {
	var f inbox.AuditFilter
	var err error
	if f.ActorID, err = queryInt(c, "actor"); err != nil {
		return f, err
	}
	if f.Before, err = queryInt(c, "before"); err != nil {
		return f, err
	}
	if a := c.QueryParam("action"); a != "" {
		f.Action = inbox.AuditAction(a)
		if !f.Action.Valid() {
			return f, inbox.Invalid("action", "unknown action: one of %s", auditActionList())
		}
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return f, err
	}
	switch {
	case limit == 0:
		limit = int64(defLimit)
	case limit > int64(maxLimit):
		return f, inbox.Invalid("limit", "must be at most %d", maxLimit)
	}
	f.Limit = int(limit)
	return f, nil
}

func auditActionList() string {
	var names []string
	for _, a := range inbox.AuditActions() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// auditList answers a page of entries, newest first, with "next_before"
// for the next page; ?format=csv answers the entries as a spreadsheet-safe
// CSV file.
func (s *Server) auditList(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "csv" {
		return inbox.Invalid("format", "must be json or csv")
	}
	def, max := inbox.DefaultAuditLimit, inbox.MaxAuditLimit
	if format == "csv" {
		def, max = maxAuditExport, maxAuditExport
	}
	f, err := auditFilter(c, def, max)
	if err != nil {
		return err
	}
	es, err := s.o.Accounts.Store.AuditEntries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if format == "csv" {
		return writeAuditCSV(c, es)
	}
	if es == nil {
		es = []inbox.AuditEntry{}
	}
	var next *int64
	if len(es) == f.Limit && len(es) > 0 {
		id := es[len(es)-1].ID
		next = &id
	}
	return c.JSON(http.StatusOK, map[string]any{"items": es, "next_before": next})
}

// writeAuditCSV writes entries with every text cell made spreadsheet-safe
// (names, targets and changes can hold what a user typed).
func writeAuditCSV(c echo.Context, es []inbox.AuditEntry) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="audit.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	cw := csv.NewWriter(c.Response())
	cell := inbox.SpreadsheetSafe
	_ = cw.Write([]string{"id", "created_at", "actor_id", "actor_name", "ip", "action", "target_type", "target_id", "data"})
	for _, e := range es {
		keys := make([]string, 0, len(e.Data))
		for k := range e.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + e.Data[k]
		}
		if err := cw.Write([]string{strconv.FormatInt(e.ID, 10), e.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
			strconv.FormatInt(e.ActorID, 10), cell(e.ActorName), cell(e.IP), string(e.Action), cell(e.TargetType),
			cell(e.TargetID), cell(strings.Join(parts, "; "))}); err != nil {
			return nil // the client went; the status is sent
		}
	}
	cw.Flush()
	return nil
}

// formatOptional prints a time for the audit log ("" when zero).
func formatOptional(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
