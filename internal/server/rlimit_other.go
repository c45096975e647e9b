//go:build !unix

package server

// raiseFileLimit: no such limit to raise here; conncap's defaults assume a
// large budget.
func raiseFileLimit() uint64 { return 0 }
