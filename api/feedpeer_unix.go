//go:build unix

package api

import (
	"net"
	"syscall"
)

// peerClosed reports whether the client has closed its side of conn (or
// the socket failed), reading without blocking: nobody else reads a feed's
// socket, so an orderly close would otherwise wait for a write to fail.
// Whatever the client sent (nothing is expected after its request) is
// discarded, so that a close behind it is seen too.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = rc.Read(func(fd uintptr) bool {
		var b [512]byte
		for range 8 {
			n, err := syscall.Read(int(fd), b[:])
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
				return true
			case err != nil || n == 0:
				closed = true
				return true
			}
		}
		return true // a chatty client: look again next sweep
	})
	return closed || err != nil
}
