package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserAddSaysAgentServesEveryQueue: an agent created without
// --queues serves every queue; user add says so, and says nothing of the
// kind for an agent with queues or for an admin.
func TestUserAddSaysAgentServesEveryQueue(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "inboxd.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nqueues:\n  - {id: support, name: Support}\n  - {id: sales, name: Sales}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := run(ctx, []string{"migrate", "--config", cfg}, nil, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	add := func(email, role string, extra ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"user", "add", "--email", email, "--name", "N", "--role", role, "--password-stdin", "--config", cfg}, extra...)
		if err := run(ctx, args, strings.NewReader("a-long-password\n"), &out, &errb); err != nil {
			t.Fatalf("user add %s: %v %s", email, err, errb.String())
		}
		return out.String()
	}
	if out := add("all@example.com", "agent"); !strings.Contains(out, "serves EVERY queue") {
		t.Fatalf("agent without --queues: %q", out)
	}
	if out := add("some@example.com", "agent", "--queues", "support"); strings.Contains(out, "EVERY") {
		t.Fatalf("agent with --queues: %q", out)
	}
	if out := add("admin@example.com", "admin"); strings.Contains(out, "EVERY") {
		t.Fatalf("admin: %q", out)
	}
}
