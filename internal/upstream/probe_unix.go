//go:build unix

package upstream

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether a pooled connection that has been idle for a while
// is still open: a non-blocking peek sees the FIN (or an RST) an upstream
// sent when it closed the connection on its own idle timeout (Node.js closes
// after 5 s). Without this check a request with a body, which cannot be
// replayed, would fail with a 502 after every idle gap.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == nil && n == 0: // orderly shutdown
			open = false
		case rerr == nil: // unsolicited bytes: the connection is out of step
			open = false
		case errors.Is(rerr, syscall.EAGAIN):
		default:
			open = false
		}
		return true // never wait for readiness
	})
	return err == nil && open
}
