package model_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// ExampleModel_RunBatch runs two continuations of a shared prompt as one packed batch, each after the
// prompt's stored keys and values, and checks them against separate runs, on a tiny random model.
func ExampleModel_RunBatch() {
	dir, _ := os.MkdirTemp("", "model-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8}
	pf, err := m.NewPrefix(prompt)
	if err != nil {
		fmt.Println(err)
		return
	}
	items := []model.BatchItem{
		{Tokens: append(append([]int{}, prompt...), 20, 21, 22), Prefix: pf},
		{Tokens: append(append([]int{}, prompt...), 30), Prefix: pf, LogitPositions: []int{8}},
	}
	res, err := m.RunBatch(items, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range res {
		one, _ := m.Run(items[i].Tokens, model.RunOptions{Prefix: pf, LogitPositions: items[i].LogitPositions})
		worst := 0.0
		for j, v := range r.Logits.Data {
			worst = math.Max(worst, math.Abs(float64(v-one.Logits.Data[j])))
		}
		fmt.Printf("item %d: positions %v after %d prompt tokens, logits %v, same as a Run: %v\n",
			i, r.Positions, r.Offset, r.Logits.Shape, worst < 1e-4)
	}
	// Output:
	// item 0: positions [10] after 8 prompt tokens, logits [1 300], same as a Run: true
	// item 1: positions [8] after 8 prompt tokens, logits [1 300], same as a Run: true
}
