package lexical_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd/lexical"
)

func TestTerms(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"The cat and the hat", []string{"cat", "hat"}},
		{"Running RUNS runner", []string{"run", "run", "runner"}},
		{"John's dog's bone", []string{"john", "dog", "bone"}},
		{"John’s book", []string{"john", "book"}},
		{"don't stop", []string{"don", "t", "stop"}},
		{"'s alone", []string{"alon"}},
		{"it's", nil},
		{"COVID-19 vaccines, 2021", []string{"covid", "19", "vaccin", "2021"}},
		{"e-mail: foo@example.com", []string{"e", "mail", "foo", "exampl", "com"}},
		{"Ünïcödé Straße ÉCOLE", []string{"ünïcödé", "straße", "école"}},
		{"Привет мир", []string{"привет", "мир"}},
		{"東京タワー", []string{"東", "京", "タワー"}},
		{"ひらがな", []string{"ひ", "ら", "が", "な"}},
		{"naïve cafe\u0301", []string{"naïv", "cafe\u0301"}},
		{"tab\tnew\nline\r", []string{"tab", "new", "line"}},
		{"a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with", nil},
		{"bad\xffutf8\xc3", []string{"bad", "utf8"}},
		{strings.Repeat("x", 64) + " ok " + strings.Repeat("y", 65), []string{strings.Repeat("x", 64), "ok"}},
		{strings.Repeat("é", 32) + " " + strings.Repeat("é", 33), []string{strings.Repeat("é", 32)}},
	}
	for _, tc := range cases {
		got := lexical.Terms(tc.in)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Terms(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	got := lexical.QueryTerms("cells cell the CELL proteins protein")
	want := []string{"cell", "protein"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QueryTerms mismatch (-want +got):\n%s", diff)
	}
}

func TestAppendTerms(t *testing.T) {
	dst := []string{"keep"}
	got := lexical.AppendTerms(dst, "Stemming works")
	want := []string{"keep", "stem", "work"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendTerms mismatch (-want +got):\n%s", diff)
	}
}

func TestScanAllocations(t *testing.T) {
	// Allocations are per call (the scanner's buffer), never per term: a
	// text 50 times as long allocates as often.
	short := "The proteins were cleaved by caspases in apoptotic cells, Müller's report says. "
	long := strings.Repeat(short, 50)
	counts := map[string]int{}
	lexical.Scan(short, func(term []byte) { counts[string(term)]++ })
	total := 0
	allocs := func(text string) float64 {
		return testing.AllocsPerRun(20, func() {
			lexical.Scan(text, func(term []byte) { total += counts[string(term)] })
		})
	}
	a1, a50 := allocs(short), allocs(long)
	if total == 0 {
		t.Fatal("no terms seen")
	}
	if a50 != a1 || a1 > 2 {
		t.Errorf("Scan allocated %.0f times for one sentence and %.0f for 50, want the same, at most 2", a1, a50)
	}
}

func TestStopWords(t *testing.T) {
	words := lexical.StopWords()
	if len(words) != 33 {
		t.Fatalf("got %d stop words, want Lucene's 33", len(words))
	}
	for _, w := range words {
		if got := lexical.Terms(w); len(got) != 0 {
			t.Errorf("Terms(%q) = %q, want it dropped", w, got)
		}
		if got := lexical.Terms(w + "x"); len(got) != 1 {
			t.Errorf("Terms(%q) = %q, want one term", w+"x", got)
		}
	}
}

func TestScore(t *testing.T) {
	// Hand-computed: N=10, n=2: idf = ln(1 + 8.5/2.5) = ln(4.4).
	idf := 1.4816045409242156
	if got := lexical.IDF(2, 10); abs(got-idf) > 1e-12 {
		t.Errorf("IDF(2, 10) = %v, want %v", got, idf)
	}
	// tf=3, dl=20, avgdl=10: 3 / (3 + 1.2*(0.25 + 0.75*2)) = 3 / 5.1.
	tf := 3 / 5.1
	if got := lexical.TF(3, 20, 10); abs(got-tf) > 1e-12 {
		t.Errorf("TF(3, 20, 10) = %v, want %v", got, tf)
	}
	if got, want := lexical.Score(3, 20, 10, 2, 10), idf*tf; abs(got-want) > 1e-12 {
		t.Errorf("Score = %v, want %v", got, want)
	}
	if got := lexical.Score(0, 20, 10, 2, 10); got != 0 {
		t.Errorf("Score with tf 0 = %v, want 0", got)
	}
	if got := lexical.IDF(10, 10); got <= 0 {
		t.Errorf("IDF of a term in every chunk = %v, want > 0", got)
	}
	// Scores grow with tf and shrink with length.
	if lexical.Score(2, 10, 10, 1, 10) <= lexical.Score(1, 10, 10, 1, 10) {
		t.Error("score does not grow with tf")
	}
	if lexical.Score(1, 20, 10, 1, 10) >= lexical.Score(1, 10, 10, 1, 10) {
		t.Error("score does not shrink with length")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{"", "John's cats", "東京タワー", "bad\xffutf8", "ÉCOLE naïve", strings.Repeat("ab", 40), "it’s", "x'S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var terms []string
		lexical.Scan(s, func(term []byte) {
			if len(term) == 0 || len(term) > lexical.MaxTermBytes {
				t.Fatalf("term %q has %d bytes", term, len(term))
			}
			if utf8.Valid([]byte(s)) && !utf8.Valid(term) {
				t.Fatalf("term %q of valid input is not valid UTF-8", term)
			}
			terms = append(terms, string(term))
		})
		// Analysis is idempotent on lower-cased text for stemmed terms:
		// analysing the same input twice gives the same terms.
		if again := lexical.Terms(s); !cmp.Equal(terms, again, cmpopt) {
			t.Fatalf("Scan and Terms disagree: %q vs %q", terms, again)
		}
	})
}

var cmpopt = cmp.Comparer(func(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})
