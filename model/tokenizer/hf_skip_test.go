//go:build !(hftokenizers && cgo)

package tokenizer_test

import "testing"

// TestHFBackendParity runs only with the optional Rust backend; see the package documentation.
func TestHFBackendParity(t *testing.T) {
	t.Skip("the Rust tokenizers backend is not built in: go test -tags hftokenizers with CGO_ENABLED=1 and " +
		"CGO_LDFLAGS=-L<dir of libtokenizers.a> (internal/reference/tokenizer/build_libtokenizers.sh)")
}
