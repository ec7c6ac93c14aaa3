package slurmtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentlens/agentlens/internal/slurmtest"
)

// This example is compiled, not run (it needs a *testing.T and the Slurm daemons): it is the body
// of a test that submits a 4-task job array and checks every task completed.
func ExampleStart() {
	var t *testing.T // the test's t

	c := slurmtest.Start(t, slurmtest.Options{CPUs: 4})
	id, err := c.Sbatch("--array=0-3", "--wrap", "echo task $SLURM_ARRAY_TASK_ID")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(id, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	states, err := c.TaskStates(id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if states[i] != "COMPLETED" {
			t.Errorf("task %d: %s, want COMPLETED", i, states[i])
		}
	}
	fmt.Println(len(states))
}
