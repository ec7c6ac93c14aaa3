package acttest

import (
	"math"
	"reflect"
	"testing"

	"github.com/agentlens/agentlens/data"
)

// SameActivations fails t unless got equals want row for row: every column equal and the vectors
// within tol absolute. A sharded capture is compared with a single process's this way: its tasks put
// other episodes next to each other, so the shared-prefix reuse may start from another cached prefix
// and a backend may sum in another order (float32 rounding). An empty want fails too: the comparison
// would prove nothing.
func SameActivations(t testing.TB, got, want []data.Activation, tol float64) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("got %d rows, want %d (and more than none)", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		gv, wv := g.Vector, w.Vector
		g.Vector, w.Vector = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d = %+v, want %+v", i, g, w)
		}
		if len(gv) != len(wv) {
			t.Fatalf("row %d (%s layer %d %s): vector length %d, want %d", i, g.EpisodeID, g.Layer, g.Position, len(gv), len(wv))
		}
		for k := range gv {
			if math.Abs(float64(gv[k]-wv[k])) > tol {
				t.Fatalf("row %d (%s layer %d %s): vector[%d] = %g, want %g", i, g.EpisodeID, g.Layer, g.Position, k, gv[k], wv[k])
			}
		}
	}
}
