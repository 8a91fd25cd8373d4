package ingest_test

import (
	"testing"
	"unicode/utf8"

	"github.com/ragd/ragd/ingest"
)

// TestNormalize covers RELIABILITY.md H-8 (NUL and control characters)
// and H-9 (invalid UTF-8, overlong encodings, surrogates).
func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ascii unchanged", "plain text\twith tab\n", "plain text\twith tab\n"},
		{"crlf", "a\r\nb\rc", "a\nb\nc"},
		{"nul and controls", "a\x00b\x07c\x1bd\u0085e", "abcde"},
		{"invalid utf8", "caf\xe9 ok \xff\xfe", "caf ok "},
		{"overlong and surrogates", "x\xc0\xafy\xed\xa0\x80z", "xyz"},
		{"nfc", "Cafe\u0301", "Café"},
		{"zero width and bidi", "ig\u200bnore\u202eevil\u2066x\u2069\ufeff", "ignoreevilx"},
		{"tag characters", "hi\U000E0049\U000E0047dden", "hidden"},
		{"soft hyphen", "hy\u00adphen", "hyphen"},
		{"cjk and emoji kept", "日本語 😀", "日本語 😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ingest.Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Normalize(%q) is not valid UTF-8", tt.in)
			}
			if again := ingest.Normalize(got); again != got {
				t.Errorf("Normalize is not idempotent: %q then %q", got, again)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"a\x00b", "\xff", "e\u0301", "\r\n\r", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := ingest.Normalize(in)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", in)
		}
		for i := 0; i < len(got); i++ {
			if got[i] == 0 || got[i] == '\r' {
				t.Fatalf("NUL or CR left in %q", got)
			}
		}
		if again := ingest.Normalize(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, got, again)
		}
	})
}
