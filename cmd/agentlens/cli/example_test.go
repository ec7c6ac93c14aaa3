package cli_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/agentlens/agentlens/cmd/agentlens/cli"
)

// ExampleRun runs the command line on in-memory arguments, as tests and other programs can: a usage
// error is printed once and maps to exit code 2.
func ExampleRun() {
	f := &cli.Factory{
		IO:      &cli.IOStreams{In: strings.NewReader(""), Out: os.Stdout, ErrOut: os.Stdout},
		Getenv:  func(string) string { return "" },
		Version: "v1.2.3",
	}
	code := cli.Run(context.Background(), f, []string{"model", "fetch", "llama"})
	fmt.Println("exit code", code)
	// Output:
	// agentlens: unknown model "llama": want one of smollm2, gemma3, xla-cpu, all
	// Run 'agentlens model fetch --help' for usage.
	// exit code 2
}
