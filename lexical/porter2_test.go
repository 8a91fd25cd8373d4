package lexical_test

import (
	"testing"

	"github.com/kljensen/snowball/english"
	"github.com/ragd/ragd/lexical"
)

// porter2Ref stems with the Snowball library, the reference for the
// package's allocation-free Porter2.
func porter2Ref(b []byte) int {
	s := english.Stem(string(b), true)
	if len(s) > cap(b) {
		return len(b)
	}
	return copy(b[:cap(b)], s)
}

func TestPorter2Examples(t *testing.T) {
	// From the Porter2 description on snowballstem.org and its exceptions.
	cases := map[string]string{
		"consign": "consign", "consigned": "consign", "consigning": "consign", "consignment": "consign",
		"consist": "consist", "consisted": "consist", "consistency": "consist", "consistent": "consist",
		"consistently": "consist", "consisting": "consist", "consists": "consist", "consolation": "consol",
		"consolations": "consol", "consolatory": "consolatori", "console": "consol", "consoled": "consol",
		"consoles": "consol", "consolidate": "consolid", "consolidated": "consolid", "consolidating": "consolid",
		"consoling": "consol", "consolingly": "consol", "consols": "consol", "consonant": "conson",
		"consort": "consort", "consorted": "consort", "consorting": "consort", "conspicuous": "conspicu",
		"conspicuously": "conspicu", "conspiracy": "conspiraci", "conspirator": "conspir",
		"conspirators": "conspir", "conspire": "conspir", "conspired": "conspir", "conspiring": "conspir",
		"constable": "constabl", "constables": "constabl", "constance": "constanc", "constancy": "constanc",
		"constant": "constant", "knack": "knack", "knackeries": "knackeri", "knacks": "knack",
		"knag": "knag", "knave": "knave", "knaves": "knave", "knavish": "knavish", "kneaded": "knead",
		"kneading": "knead", "knee": "knee", "kneel": "kneel", "kneeled": "kneel", "kneeling": "kneel",
		"kneels": "kneel", "knees": "knee", "knell": "knell", "knelt": "knelt", "knew": "knew",
		"knick": "knick", "knif": "knif", "knife": "knife", "knight": "knight", "knightly": "knight",
		"knights": "knight", "knit": "knit", "knits": "knit", "knitted": "knit", "knitting": "knit",
		"knives": "knive", "knob": "knob", "knobs": "knob", "knock": "knock", "knocked": "knock",
		"knocker": "knocker", "knockers": "knocker", "knocking": "knock", "knocks": "knock",
		"knopp": "knopp", "knot": "knot", "knots": "knot", "skies": "sky", "dying": "die",
		"innings": "inning", "proceeded": "proceed", "generously": "generous", "communism": "communism",
		"arsenal": "arsenal", "ties": "tie", "cries": "cri", "yelling": "yell", "sayings": "say",
		"hoped": "hope", "hopping": "hop", "fluently": "fluentli", "archaeology": "archaeolog",
	}
	for in, want := range cases {
		b := []byte(in)
		if got := string(b[:lexical.Porter2Stem(b)]); got != want {
			t.Errorf("Porter2(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPorter2MatchesSnowball checks the stemmer against the Snowball
// library on every distinct word of the SciFact and SQuAD corpora and
// queries, and on non-ASCII words.
func TestPorter2MatchesSnowball(t *testing.T) {
	words := map[string]bool{
		"naïveness": true, "straße": true, "éies": true, "cafés": true, "aéd": true, "ñying": true,
		"über": true, "résumés": true, "ｙes": true, "yé": true, "éé": true, "éée": true,
	}
	for _, name := range []string{"scifact", "squad"} {
		d := loadDataset(t, name)
		collect := func(text string) {
			lexical.ScanWithStemmer(text, func(b []byte) int { return len(b) }, func(term []byte) {
				words[string(term)] = true
			})
		}
		for _, doc := range d.Docs {
			collect(doc.Content())
		}
		for _, q := range d.Queries {
			collect(q.Text)
		}
	}
	bad := 0
	for w := range words {
		got, want := []byte(w), []byte(w)
		got = got[:lexical.Porter2Stem(got)]
		want = want[:porter2Ref(want)]
		if string(got) != string(want) {
			bad++
			if bad <= 20 {
				t.Errorf("Porter2(%q) = %q, Snowball gives %q", w, got, want)
			}
		}
	}
	t.Logf("%d distinct words compared, %d differ", len(words), bad)
}

// FuzzPorter2 compares the stemmer with the Snowball library on arbitrary
// lower-case words.
func FuzzPorter2(f *testing.F) {
	for _, s := range []string{"generously", "knitting", "skies", "yelling", "ñying", "aéd", "sses", "yyy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var words []string
		lexical.ScanWithStemmer(s, func(b []byte) int { return len(b) }, func(term []byte) {
			words = append(words, string(term))
		})
		for _, w := range words {
			got, want := []byte(w), []byte(w)
			got = got[:lexical.Porter2Stem(got)]
			want = want[:porter2Ref(want)]
			if string(got) != string(want) {
				t.Fatalf("Porter2(%q) = %q, Snowball gives %q", w, got, want)
			}
		}
	})
}
