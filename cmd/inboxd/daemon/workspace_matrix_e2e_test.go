package daemon_test

import (
	"fmt"
	"sync/atomic"
)

// matrixPaths make a fresh object for each call of the workspace routes
// whose first successful call would change the next one's answer (a
// delete), or that name two objects (a conversation and a canned reply).
var matrixPaths = map[string]func(m *matrixEnv, own bool, n int) string{
	"DELETE /api/v1/tags/:id": func(m *matrixEnv, _ bool, _ int) string {
		return fmt.Sprintf("/api/v1/tags/%d", m.matrixTag())
	},
	"PUT /api/v1/canned/:id": func(m *matrixEnv, own bool, _ int) string {
		return fmt.Sprintf("/api/v1/canned/%d", m.matrixCanned(cannedKind(own)))
	},
	"DELETE /api/v1/canned/:id": func(m *matrixEnv, own bool, _ int) string {
		return fmt.Sprintf("/api/v1/canned/%d", m.matrixCanned(cannedKind(own)))
	},
	"GET /api/v1/conversations/:id/canned/:canned": func(m *matrixEnv, own bool, n int) string {
		conv, _ := m.objects("/api/v1/conversations/:id", int(matrixSeq.Add(1))+1000)
		if !own {
			_, conv = m.objects("/api/v1/conversations/:id", int(matrixSeq.Add(1))+1000)
		}
		return fmt.Sprintf("/api/v1/conversations/%s/canned/%d", conv, m.matrixCanned("all"))
	},
}

var matrixSeq atomic.Int64

// matrixTag is a new tag, made by the owner.
func (m *matrixEnv) matrixTag() int64 {
	m.t.Helper()
	var tag struct{ ID int64 }
	if st := m.call("POST", "/api/v1/tags", m.owner, map[string]string{"name": fmt.Sprintf("t%d", matrixSeq.Add(1))}, &tag); st != 201 {
		m.t.Fatalf("tag: %d", st)
	}
	return tag.ID
}

func cannedKind(own bool) string {
	if own {
		return "support"
	}
	return "sam"
}

// matrixCanned is a new canned reply: shared with the agent's queue
// ("support"), with every queue ("all"), or personal to Sam, an agent of
// another queue ("sam").
func (m *matrixEnv) matrixCanned(kind string) int64 {
	m.t.Helper()
	body := map[string]any{"shortcut": fmt.Sprintf("c%d", matrixSeq.Add(1)), "title": "T", "text": "Hello {{contact.name}}"}
	tok := m.owner
	switch kind {
	case "support":
		body["queue"] = "support"
	case "sam":
		body["personal"], tok = true, m.sales
	}
	var r struct{ ID int64 }
	if st := m.call("POST", "/api/v1/canned", tok, body, &r); st != 201 {
		m.t.Fatalf("canned: %d", st)
	}
	return r.ID
}
