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
