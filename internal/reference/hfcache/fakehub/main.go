// Command fakehub serves hubtest's fake Hugging Face hub on loopback: by default the tiny Llama
// repository agentlens-test/tiny-llama (tag v1.0), as package hub's tests serve it, for
// internal/reference/hfcache's script; with -serve org/name=DIR, the files of local directories as
// repositories (for measuring pulls of real models without the network). It prints the hub's URL on its
// first line and serves until its standard input closes.
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentlens/agentlens/model/hub/hubtest"
)

type serveFlags []string

func (s *serveFlags) String() string     { return strings.Join(*s, ",") }
func (s *serveFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var serve serveFlags
	flag.Var(&serve, "serve", "serve directory DIR as repository org/name (`org/name=DIR`, repeatable)")
	flag.Parse()
	var repos []hubtest.HFRepo
	if len(serve) == 0 {
		repo, err := hubtest.TinyRepo("agentlens-test/tiny-llama", "llama", 1)
		if err != nil {
			fail(err)
		}
		repo.Tags = []string{"v1.0"}
		repos = append(repos, repo)
	}
	for _, s := range serve {
		id, dir, ok := strings.Cut(s, "=")
		if !ok {
			fail(fmt.Errorf("-serve %q: want org/name=DIR", s))
		}
		repo := hubtest.HFRepo{ID: id, Files: map[string][]byte{}}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			repo.Files[filepath.ToSlash(rel)], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			fail(err)
		}
		repos = append(repos, repo)
	}
	srv := hubtest.NewHFHub(repos...)
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fakehub:", err)
	os.Exit(1)
}
