package textseg_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd/textseg"
)

func sentences(text string) []string {
	var out []string
	for _, s := range textseg.Sentences(text) {
		out = append(out, text[s.Start:s.End])
	}
	return out
}

func TestSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "  \n ", nil},
		{"one without terminator", "no terminator here", []string{"no terminator here"}},
		{"simple", "First one. Second one! Third? ", []string{"First one.", "Second one!", "Third?"}},
		{"abbreviations", "Dr. Smith met Mr. Jones, e.g. at noon. Then they left.", []string{"Dr. Smith met Mr. Jones, e.g. at noon.", "Then they left."}},
		{"initials", "The paper by J. R. Smith was cited. It won.", []string{"The paper by J. R. Smith was cited.", "It won."}},
		{"decimals and versions", "Pi is 3.14 and ragd is v1.2.3 today. Fine.", []string{"Pi is 3.14 and ragd is v1.2.3 today.", "Fine."}},
		{"lower-case after dot", "Use the .env file. or not", []string{"Use the .env file. or not"}},
		{"quotes", `He said "stop." Then he left.`, []string{`He said "stop."`, "Then he left."}},
		{"blank line", "A heading\n\nA paragraph without dot", []string{"A heading", "A paragraph without dot"}},
		{"wrapped line", "this sentence is wrapped across a line because it is quite long\nand continues here.", []string{"this sentence is wrapped across a line because it is quite long\nand continues here."}},
		{"list", "Steps:\n- one\n- two", []string{"Steps:", "- one", "- two"}},
		{"cjk", "今天天气很好。我们去公园吧！好的", []string{"今天天气很好。", "我们去公园吧！", "好的"}},
		{"ellipsis", "Wait… What happened?", []string{"Wait…", "What happened?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, sentences(tt.text)); diff != "" {
				t.Errorf("Sentences(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func FuzzSentences(f *testing.F) {
	for _, s := range []string{"A. B. C.", "x\n\ny", "Dr. X… “Y.” 3.5", "。。！", "\xff\xfe."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		prev := 0
		for _, s := range textseg.Sentences(text) {
			if s.Start < prev || s.End <= s.Start || s.End > len(text) {
				t.Fatalf("bad span %+v after %d in %q", s, prev, text)
			}
			prev = s.End
		}
	})
}
