package layering

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const mod = "github.com/agentlens/agentlens/"

// rules: a package under the key (a path prefix below the module) must not depend, directly or
// through others, on any package whose path starts with one of the values.
var rules = map[string][]string{
	"trace": {mod + "model", mod + "attribution", mod + "data", mod + "probes", mod + "cmd", "github.com/gomlx/"},
	"model": {mod + "trace", mod + "attribution", mod + "data", mod + "probes", mod + "cmd"},
	"data":  {mod + "model", mod + "attribution", mod + "probes", mod + "cmd", "github.com/gomlx/"},
	// probes reaches trace only through data (its dataset generator), as STYLE.md's table allows.
	"probes":      {mod + "model", mod + "attribution", mod + "cmd", "github.com/gomlx/"},
	"attribution": {mod + "probes", mod + "cmd"},
	"internal":    {mod + "cmd"},
}

// TestImportDirection lists every package's transitive dependencies with go list and fails on an edge
// the layering forbids (nothing may import cmd; data and probes never import GoMLX, so they work on
// Parquet from another machine with no model present).
func TestImportDirection(t *testing.T) {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goCmd, "list", "-deps=false", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		rel := strings.TrimPrefix(pkg, mod)
		for prefix, banned := range rules {
			if rel != prefix && !strings.HasPrefix(rel, prefix+"/") {
				continue
			}
			checked++
			for _, d := range deps {
				for _, b := range banned {
					if strings.HasPrefix(d, b) {
						t.Errorf("%s depends on %s (forbidden: %s must not import %s)", pkg, d, prefix, b)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d packages: is go list's output what this test expects?\n%s", checked, out)
	}
}
