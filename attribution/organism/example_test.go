package organism_test

import (
	"fmt"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/attribution/organism"
)

// Example scores segment deletion on five held-out episodes of the shipped organism: in each, the
// goal line and the two clue emails are the three segments whose deletion lowers logit[blackmail] −
// logit[comply] most.
func Example() {
	b, _ := simplego.New("ops_sequential")
	m, err := organism.LoadEmbedded(b, organism.Shipped)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := organism.NewRenderer()
	eps, _ := organism.HeldOut(5, organism.Direct, 1)
	fmt.Println("planted in the first episode:", eps[0].Planted)
	rows, err := organism.Eval(m, r, eps, organism.EvalOptions{Methods: []string{organism.MethodDeletion}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range organism.Summarize(rows) {
		fmt.Printf("%s: planted segments on top in %.0f%% of %d episodes, mean planted rank %.1f\n", s.Method, 100*s.TopK, s.Episodes, s.MeanRank)
	}
	// Output:
	// planted in the first episode: [system[0].text[0] user[0].email[4] user[0].email[6]]
	// deletion: planted segments on top in 100% of 5 episodes, mean planted rank 2.0
}
