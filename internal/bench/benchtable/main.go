// Command benchtable puts speed tables written by "agentlens bench --out" into the readme's block for
// this machine's CPU kind (bench.CPUKind), between "<!-- bench:begin KEY -->" and
// "<!-- bench:end KEY -->", leaving the other kinds' blocks as they are. make bench-table runs it:
//
//	go run ./internal/bench/benchtable -readme README.md out/bench-xla.md out/bench-go.md
//
// The table files are joined with a blank line between them. -key and -label replace the detected
// kind (both together, or -label alone to re-label this machine's block).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/agentlens/agentlens/internal/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run parses args, splices the tables and reports what it did on stderr.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchtable [-readme README.md] [-key <key> -label <label>] <table.md>...")
		fs.PrintDefaults()
	}
	readme := fs.String("readme", "README.md", "the readme whose bench block is replaced")
	key := fs.String("key", "", "the block's key instead of the detected CPU kind (needs -label)")
	label := fs.String("label", "", "the block's heading instead of the detected CPU model and features")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no table files", errUsage)
	}
	if *key != "" && *label == "" {
		return fmt.Errorf("%w: -key %s needs -label (the detected label describes this machine)", errUsage, *key)
	}
	k, l := bench.CPUKind()
	if *key != "" {
		k = *key
	}
	if *label != "" {
		l = *label
	}
	var body bytes.Buffer
	for i, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("table: %w", err) // *PathError names the file
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return fmt.Errorf("table %s: empty", path)
		}
		if i > 0 {
			body.WriteString("\n")
		}
		body.Write(bytes.TrimRight(b, "\n"))
		body.WriteString("\n")
	}
	if err := bench.SpliceTablesFile(*readme, k, l, body.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchtable: %s: block %s (%s) from %d table file(s)\n", *readme, k, l, fs.NArg())
	return nil
}
