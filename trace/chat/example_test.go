package chat_test

import (
	"fmt"

	"github.com/agentlens/agentlens/trace/chat"
)

// Example renders a two-message conversation through a tiny ChatML template and prints where each message
// and its content landed.
func Example() {
	const chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
	tmpl, err := chat.Compile(chatML, "chatml.jinja")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := tmpl.Render(chat.Input{
		Messages: []chat.Message{
			{Role: "system", Content: "You are terse."},
			{Role: "user", Content: "Hi!"},
		},
		AddGenerationPrompt: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", r.Text)
	for i, m := range r.Messages {
		fmt.Printf("%d: message %v %q content %v %q found=%v\n", i, m.Message, r.Text[m.Message.Start:m.Message.End],
			m.Content, r.Text[m.Content.Start:m.Content.End], m.ContentFound)
	}
	// Output:
	// "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
	// 0: message {0 44} "<|im_start|>system\nYou are terse.<|im_end|>\n" content {19 33} "You are terse." found=true
	// 1: message {44 75} "<|im_start|>user\nHi!<|im_end|>\n" content {61 64} "Hi!" found=true
}
