package wordpiece

import (
	"bufio"
	"compress/gzip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestCharPropsMatchHuggingFace checks, for every Unicode scalar value,
// each normalization and pre-tokenization step against what Hugging Face
// tokenizers does with that character alone, as recorded in
// testdata/hf_charprops.tsv.gz by testdata/hfref/charprops.js.
func TestCharPropsMatchHuggingFace(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "hf_charprops.tsv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[rune]string, 240000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("bad line %q", line)
		}
		first, err1 := strconv.ParseInt(parts[0], 16, 32)
		last, err2 := strconv.ParseInt(parts[1], 16, 32)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", line)
		}
		for r := rune(first); r <= rune(last); r++ {
			want[r] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) < 200000 {
		t.Fatalf("only %d code points recorded", len(want))
	}
	bad := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		if got := charFlags(r); got != want[r] {
			bad++
			if bad <= 20 {
				t.Errorf("U+%04X: got %q, want %q", r, got, want[r])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d code points differ", bad)
	}
}

// charFlags describes what each step does with r, in the format of
// testdata/hfref/charprops.js.
func charFlags(r rune) string {
	var f []string
	if r == 0 || r == utf8.RuneError || isControl(r) {
		f = append(f, "drop")
	} else if isWhitespace(r) && r != ' ' {
		f = append(f, "cleanws")
	}
	if isWhitespace(r) {
		f = append(f, "ws")
	} else if isPunct(r) {
		f = append(f, "punct")
	}
	if isCJK(r) {
		f = append(f, "cjk")
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	var stripped []rune
	for _, c := range decomposeNFD(nil, r, string(b[:n])) {
		if !isNonspacingMark(c) {
			stripped = append(stripped, c)
		}
	}
	if len(stripped) != 1 || stripped[0] != r {
		f = append(f, "strip="+hexRunes(stripped))
	}
	if lower := toLower(nil, r); len(lower) != 1 || lower[0] != r {
		f = append(f, "lower="+hexRunes(lower))
	}
	return strings.Join(f, " ")
}

func hexRunes(rs []rune) string {
	p := make([]string, len(rs))
	for i, r := range rs {
		p[i] = strings.ToUpper(strconv.FormatInt(int64(r), 16))
	}
	return strings.Join(p, " ")
}
