//go:build !unix

package data

import "os"

// lockFile opens path; without flock there is no lock: two runs of one task are not detected.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}
