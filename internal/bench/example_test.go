package bench_test

import (
	"fmt"
	"os"

	"github.com/agentlens/agentlens/internal/bench"
)

func ExampleParseJobs() {
	jobs, err := bench.ParseJobs("forward:512/1k,gradient:4k,ablate:1k")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, j := range jobs {
		fmt.Println(j, j.Work())
	}
	// Output:
	// forward:512 512
	// forward:1024 1024
	// gradient:4096 4096
	// ablate:1024 19456
}

func ExampleWriteTable() {
	rep := &bench.Report{Model: "tiny", Threads: 2, Machine: "example", Backend: "go", Torch: "torch 2.9.0", Seed: 1, Warmup: true,
		Rows: []bench.Row{{
			Job:       bench.Job{Kind: bench.Forward, Tokens: 1024},
			Agentlens: bench.Measurement{Engine: bench.EngineAgentlens, Backend: "go", Seconds: 2, CPUSeconds: 3.9, WarmupSeconds: 2.5, CompileSeconds: 0.5, PeakRSS: 300 << 20},
			Torch:     &bench.Measurement{Engine: bench.EngineTorch, Backend: "cpu", Seconds: 0.5, CPUSeconds: 0.95, PeakRSS: 2 << 30},
		}},
	}
	bench.WriteTable(os.Stdout, rep)
	// Output:
	// Model `tiny`; 2 threads; agentlens backend go; torch: torch 2.9.0.
	// Machine: example. Synthetic tokens (seed 0x1); timings after one untimed warm-up run.
	//
	// | job | backend | tokens | agentlens s | cpu s | compile s | tok/s | peak RSS | torch s | torch cpu s | torch RSS | ratio | cpu ratio |
	// | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |
	// | forward | go | 1024 | 2.00 | 3.90 | 0.500 | 512 | 300 MiB | 0.500 | 0.950 | 2.00 GiB | 4.00× | 4.11× |
}
