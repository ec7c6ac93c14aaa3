// Command writetiny writes agentlens's tiny random test models (package model/modeltest) into a
// directory, one subdirectory per family, for the reference scripts to load with Hugging Face
// transformers.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentlens/agentlens/model/modeltest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: writetiny <dir>")
		os.Exit(2)
	}
	for _, fam := range modeltest.Families {
		if _, err := modeltest.Write(filepath.Join(os.Args[1], fam), fam, 1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
