// Command agentlens is the agentlens command-line tool; see package cli for its commands.
package main

import (
	"os"

	"github.com/agentlens/agentlens/cmd/agentlens/cli"
)

func main() {
	os.Exit(cli.Main())
}
