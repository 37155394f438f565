package main

import (
	"strings"
	"testing"
)

func TestPprofAddressMustBeLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:6061":      "is not a loopback address",
		"example.com:6061":  "is not a loopback address",
		"127.0.0.1":         "missing port",
		"192.168.1.10:6061": "is not a loopback address",
	} {
		t.Setenv("INBOXD_PPROF_ADDR", addr)
		if err := startPprof(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", addr, err, want)
		}
	}
	t.Setenv("INBOXD_PPROF_ADDR", "")
	if err := startPprof(); err != nil {
		t.Fatalf("unset: %v", err)
	}
	t.Setenv("INBOXD_PPROF_ADDR", "127.0.0.1:0")
	if err := startPprof(); err != nil {
		t.Fatalf("loopback: %v", err)
	}
}
