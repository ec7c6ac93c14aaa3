package data

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Style is the surface style of a generated episode's text: the same scenario written differently.
type Style string

// The surface styles.
const (
	StyleFormal    Style = "formal"    // formal corporate prose, greetings and sign-offs
	StyleTerse     Style = "terse"     // short chat-like lines, contractions, no greetings
	StyleNarrative Style = "narrative" // prose with narration around the documents
	StyleNonNative Style = "nonnative" // English with the errors of a non-native writer
	StyleMarkdown  Style = "markdown"  // headings, bullet lists and bold
)

// Styles lists every style in a fixed order.
var Styles = []Style{StyleFormal, StyleTerse, StyleNarrative, StyleNonNative, StyleMarkdown}

// prose writes sentences as one block of text in the style.
func (s Style) prose(sents ...string) string {
	switch s {
	case StyleTerse:
		out := make([]string, len(sents))
		for i, x := range sents {
			out[i] = terse(x)
		}
		return strings.Join(out, "\n")
	case StyleMarkdown:
		out := make([]string, len(sents))
		for i, x := range sents {
			out[i] = "- " + x
		}
		return strings.Join(out, "\n")
	case StyleNonNative:
		return nonNative(strings.Join(sents, " "))
	}
	return strings.Join(sents, " ")
}

// heading writes a section heading (empty for styles without headings).
func (s Style) heading(h string) string {
	switch s {
	case StyleMarkdown:
		return "## " + h + "\n\n"
	case StyleFormal:
		return h + ":\n"
	}
	return ""
}

// emailBody writes an email's body from its sentences, with the greeting and sign-off of the style.
func (s Style) emailBody(from, to person, sents []string) string {
	switch s {
	case StyleTerse:
		return strings.ToLower(to.First) + " —\n" + s.prose(sents...) + "\n- " + from.First[:1]
	case StyleMarkdown:
		return "**To:** " + to.First + "\n\n" + s.prose(sents...) + "\n\n_" + from.full() + ", " + from.Title + "_"
	case StyleNonNative:
		return "Dear " + to.First + ",\n\n" + s.prose(sents...) + "\n\nWith best regard,\n" + from.full()
	case StyleNarrative:
		return "Hi " + to.First + ",\n\n" + s.prose(sents...) + "\n\n" + from.First
	}
	return "Dear " + to.First + ",\n\n" + s.prose(sents...) + "\n\nKind regards,\n" + from.full() + "\n" + from.Title
}

// reasoning writes a paragraph of the assistant's private reasoning.
func (s Style) reasoning(sents ...string) string {
	switch s {
	case StyleMarkdown:
		return s.prose(sents...)
	case StyleTerse:
		return s.prose(sents...)
	}
	return s.prose(sents...)
}

// terse shortens a sentence the way a hurried chat message would.
func terse(x string) string {
	x = terseReplacer.Replace(x)
	x = strings.TrimSuffix(x, ".")
	if r, n := utf8.DecodeRuneInString(x); n > 0 {
		first, _, _ := strings.Cut(x, " ")
		if lowerable[first] {
			x = string(unicode.ToLower(r)) + x[n:]
		}
	}
	return x
}

var terseReplacer = strings.NewReplacer(
	"Please ", "", "please ", "", "I would like to ", "want to ", "as soon as possible", "asap",
	"Thank you", "thx", "cannot", "can't", "do not", "don't", "will not", "won't", "I am ", "I'm ",
	"It is ", "It's ", "it is ", "it's ", "We are ", "We're ", "we are ", "we're ", "that is ", "that's ",
	" and ", " & ", "tomorrow", "tmrw", "because", "bc", "approximately", "~",
)

var lowerable = map[string]bool{"The": true, "This": true, "We": true, "It": true, "There": true, "Our": true,
	"A": true, "If": true, "You": true, "At": true, "All": true, "Nothing": true, "That": true, "Some": true,
	"It's": true, "We're": true, "Let": true, "So": true, "Once": true, "Everything": true, "My": true,
	"Your": true, "Most": true, "With": true, "Nobody": true, "Whatever": true, "Then": true, "Listen": true}

// nonNative rewrites text with the article drops and idioms of a non-native English writer. What it
// changes depends only on the text, so equal inputs give equal outputs.
func nonNative(x string) string {
	x = nonNativeReplacer.Replace(x)
	words := strings.Split(x, " ")
	out := words[:0]
	for i, w := range words {
		if (w == "the" || w == "a" || w == "an") && hash64(x, w, string(rune(i)))%5 < 2 {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

var nonNativeReplacer = strings.NewReplacer(
	"has been", "is", "have been", "are", "does not", "not", "did not", "was not", "I think", "According to me,",
	"as soon as possible", "in soonest possible", "discuss the", "discuss about the", "Please ", "Please kindly ",
	"tomorrow", "tomorrow itself", "information", "informations", "advice", "advices", "I am ", "I am ",
	"will be", "will be", "explain", "explain to", "at the moment", "at this moment of time",
	"Let me", "Let me to", "do the needful", "do the needful",
)
