// Command fakehub serves hubtest's fake Hugging Face hub on loopback for internal/reference/hfcache's
// script: the tiny Llama repository agentlens-test/tiny-llama (tag v1.0), as package hub's tests serve
// it. It prints the hub's URL on its first line and serves until its standard input closes.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/agentlens/agentlens/model/hub/hubtest"
)

func main() {
	repo, err := hubtest.TinyRepo("agentlens-test/tiny-llama", "llama", 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakehub:", err)
		os.Exit(1)
	}
	repo.Tags = []string{"v1.0"}
	srv := hubtest.NewHFHub(repo)
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}
