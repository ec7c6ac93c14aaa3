package attribution_test

import (
	"os"
	"testing"
)

// tempRoot holds the tiny model written for this test binary.
var tempRoot string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "attribution-test")
	if err != nil {
		panic(err)
	}
	tempRoot = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}
