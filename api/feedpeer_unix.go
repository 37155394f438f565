//go:build unix

package api

import (
	"net"
	"syscall"
)

// peerClosed reports whether the client has closed its side of conn (or
// the socket failed), by peeking without blocking: nobody reads a feed's
// socket, so an orderly close would otherwise wait for a write to fail.
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
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err == nil && n == 0 || err != nil && err != syscall.EAGAIN && err != syscall.EINTR
		return true // never wait for data
	})
	return closed || err != nil
}
