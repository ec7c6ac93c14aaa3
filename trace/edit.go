package trace

import (
	"cmp"
	"fmt"
	"slices"
)

// Edit rewrites one segment of an episode: its text replaced by Text ("" deletes it).
type Edit struct {
	Segment string
	Text    string
}

// Edited returns a copy of ep, with id, where each edit's segment text is replaced in its message
// (content or reasoning; a structured tool call's arguments cannot be edited), re-segmented: the
// corrupted episode of a clean/corrupted pair, such as the same transcript without the replacement
// email. Segment ids after an edited one may change (a deleted email renumbers the later ones).
func (ep *Episode) Edited(id string, edits ...Edit) (*Episode, error) {
	c := ep.Clone()
	c.ID = id
	if err := c.Segment(); err != nil {
		return nil, err
	}
	type cut struct {
		s    Segment
		text string
	}
	var cuts []cut
	for _, e := range edits {
		s, err := c.Lookup(e.Segment)
		if err != nil {
			return nil, err
		}
		if s.Part != PartContent && s.Part != PartReasoning {
			return nil, fmt.Errorf("episode %s: segment %s: a %s cannot be edited (only message text and reasoning)", ep.ID, s.ID, s.Part)
		}
		if slices.ContainsFunc(cuts, func(o cut) bool { return o.s.ID == s.ID }) {
			return nil, fmt.Errorf("episode %s: segment %s edited twice", ep.ID, s.ID)
		}
		cuts = append(cuts, cut{s, e.Text})
	}
	// Later spans first, so earlier offsets stay valid.
	slices.SortFunc(cuts, func(a, b cut) int {
		return cmp.Or(cmp.Compare(b.s.Message, a.s.Message), cmp.Compare(b.s.Start, a.s.Start))
	})
	for _, k := range cuts {
		m := &c.Messages[k.s.Message]
		src := &m.Content
		if k.s.Part == PartReasoning {
			src = &m.Reasoning
		}
		*src = (*src)[:k.s.Start] + k.text + (*src)[k.s.End:]
	}
	if err := c.Segment(); err != nil {
		return nil, fmt.Errorf("edited episode %s: %w", id, err)
	}
	return c, nil
}
