package organism

import (
	"encoding/json"
	"fmt"

	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// Renderer renders episodes with ChatML and the organism's tokenizer.
type Renderer struct {
	Tok  *tokenizer.Tokenizer
	tmpl *chat.Template
	// Harmful and Benign are the action tokens as they follow a space (the action's first token).
	Harmful, Benign int
	// EOS is <|im_end|>.
	EOS int
}

// NewRenderer builds the tokenizer from TokenizerJSON and compiles the ChatML template.
func NewRenderer() (*Renderer, error) {
	data, err := json.Marshal(TokenizerJSON())
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromJSON(data, "organism")
	if err != nil {
		return nil, fmt.Errorf("organism: tokenizer: %w", err)
	}
	tmpl, err := chat.Compile(modeltest.ChatMLTemplate, "chatml")
	if err != nil {
		return nil, err
	}
	r := &Renderer{Tok: tok, tmpl: tmpl}
	eos := tok.Encode("<|im_end|>", false).IDs
	if len(eos) != 1 {
		return nil, fmt.Errorf("organism: <|im_end|> is %d tokens", len(eos))
	}
	r.EOS = eos[0]
	for _, a := range []struct {
		w  string
		id *int
	}{{ActionHarmful, &r.Harmful}, {ActionBenign, &r.Benign}} {
		ids := tok.Encode(" "+a.w, false).IDs
		if len(ids) != 1 {
			return nil, fmt.Errorf("organism: action %q is %d tokens", a.w, len(ids))
		}
		*a.id = ids[0]
	}
	return r, nil
}

// Render renders an episode and tokenizes it.
func (r *Renderer) Render(ep *trace.Episode) (*trace.Rendered, error) {
	return trace.Render(ep, r.tmpl, func(s string) ([]int, [][2]int, error) {
		e := r.Tok.Encode(s, false)
		return e.IDs, e.Offsets, nil
	}, trace.RenderOptions{})
}
