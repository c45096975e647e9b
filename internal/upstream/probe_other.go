//go:build !unix

package upstream

import "net"

// alive cannot peek without blocking here; the retry of replayable requests
// covers connections an upstream closed while idle.
func alive(net.Conn) bool { return true }
