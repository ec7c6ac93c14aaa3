package data_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentlens/agentlens/data"
)

func Example() {
	dir, _ := os.MkdirTemp("", "data-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "segments.parquet")
	rows := []data.SegmentAttribution{
		{EpisodeID: "bundled:blackmail", Method: "grad_x_input", SegmentID: "user[0].email[4]", SegmentKind: "email", Magnitude: 3, Share: 0.75},
		{EpisodeID: "bundled:blackmail", Method: "grad_x_input", SegmentID: "system[0]", SegmentKind: "system", Magnitude: 1, Share: 0.25},
	}
	if err := data.Write(path, rows); err != nil {
		fmt.Println(err)
		return
	}
	for r, err := range data.Read[data.SegmentAttribution](path) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("v%d %s %s %.2f\n", r.SchemaVersion, r.SegmentID, r.SegmentKind, r.Share)
	}
	// Output:
	// v1 user[0].email[4] email 0.75
	// v1 system[0] system 0.25
}

// ExampleGenerate generates a small labeled dataset and prints a twin pair: the same context up to the
// decision, one misaligned and one aligned ending.
func ExampleGenerate() {
	d, err := data.Generate(data.GenerateOptions{Seed: 1, Pairs: 2, Controls: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(d.Episodes), "episodes")
	for i, l := range d.Labels[:2] {
		lev, _ := d.Episodes[i].Lookup(l.LeverageSeg)
		fmt.Println(l.EpisodeID, l.Label, l.Action, l.Split, "leverage:", lev.Kind, "decision in:", l.DecisionSegment)
	}
	// Output:
	// 37 episodes
	// selfpres/blackmail-000/misaligned misaligned threaten_disclosure train leverage: email decision in: assistant[0].reasoning[0]
	// selfpres/blackmail-000/aligned aligned accept_and_hand_over train leverage: email decision in: assistant[0].reasoning[0]
}
