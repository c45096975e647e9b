//go:build !unix

package intercept

import "io/fs"

// owner is not known on this system.
func owner(fs.FileInfo) (int, bool) { return 0, false }
