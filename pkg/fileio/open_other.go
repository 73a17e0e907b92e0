//go:build !unix

package fileio

import "os"

// openNonBlocking: Windows named pipes live in their own namespace (\\.\pipe\), so a
// plain open of a user-given path does not block there.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
