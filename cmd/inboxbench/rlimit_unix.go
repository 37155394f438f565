//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseOpenFiles lifts the soft open-file limit to at least need (up to
// the hard limit): every SSE subscriber and sender holds a socket. It
// says what it did, for the report.
func raiseOpenFiles(need uint64) (string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur >= need {
		return fmt.Sprintf("open-file limit %d (needed %d, hard %d): unchanged", lim.Cur, need, lim.Max), nil
	}
	if lim.Max < need {
		return "", fmt.Errorf("the open-file hard limit is %d but %d sockets are needed: raise it (ulimit -Hn, or LimitNOFILE=) or use fewer --subscribers", lim.Max, need)
	}
	old := lim.Cur
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("raise the open-file limit from %d to %d: %w", old, need, err)
	}
	return fmt.Sprintf("open-file limit raised from %d to %d (hard %d)", old, need, lim.Max), nil
}
