package lexical

import "unicode/utf8"

// stem reduces a lower-case term in place with the Porter2 (Snowball
// English) stemmer and returns the stem's length. It gives the same stems
// as github.com/kljensen/snowball's english.Stem (a test checks every word
// of the evaluation corpora) without allocating. Porter2 ranked better than
// the original Porter on SciFact (see TestEvalParameters).
//
// Letters outside ASCII are non-vowels, as in Snowball. Pure-ASCII words
// are stemmed as bytes; others are decoded to runes first so that lengths
// and positions count characters.
func stem(b []byte) int {
	if len(b) <= 2 {
		return len(b)
	}
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		if s, ok := porter2Exception(b); ok {
			return copy(b, s)
		}
		return porter2(b)
	}
	var rs [MaxTermBytes + utf8.UTFMax]rune
	n := 0
	for i := 0; i < len(b) && n < len(rs); {
		r, size := utf8.DecodeRune(b[i:])
		rs[n] = r
		n++
		i += size
	}
	n = porter2(rs[:n])
	w := 0
	for _, r := range rs[:n] {
		w += utf8.EncodeRune(b[w:], r)
	}
	return w
}

// porter2Exception returns the fixed stem of the words Porter2 treats as
// exceptions.
func porter2Exception(b []byte) (string, bool) {
	switch string(b) {
	case "skis":
		return "ski", true
	case "skies":
		return "sky", true
	case "dying":
		return "die", true
	case "lying":
		return "lie", true
	case "tying":
		return "tie", true
	case "idly":
		return "idl", true
	case "gently":
		return "gentl", true
	case "ugly":
		return "ugli", true
	case "early":
		return "earli", true
	case "only":
		return "onli", true
	case "singly":
		return "singl", true
	case "sky", "news", "howe", "atlas", "cosmos", "bias", "andes", "inning", "outing", "canning",
		"herring", "earring", "proceed", "exceed", "succeed":
		return string(b), true
	case "innings", "outings", "cannings", "herrings", "earrings", "proceeds", "exceeds", "succeeds":
		return string(b[:len(b)-1]), true
	case "proceeded", "exceeded", "succeeded":
		return string(b[:len(b)-2]), true
	case "proceeding", "exceeding", "succeeding":
		return string(b[:len(b)-3]), true
	}
	return "", false
}

// letter is what porter2 stems: bytes of an ASCII word or runes.
type letter interface{ ~byte | ~rune }

// vowel reports whether c is a Porter2 vowel: a, e, i, o, u or y (a 'Y'
// marks a consonant y).
func vowel[T letter](c T) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func hasSuffix[T letter](w []T, s string) bool {
	if len(s) > len(w) {
		return false
	}
	w = w[len(w)-len(s):]
	for i := 0; i < len(s); i++ {
		if w[i] != T(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefix[T letter](w []T, s string) bool {
	return len(s) <= len(w) && hasSuffix(w[:len(s)], s)
}

// firstSuffix returns the first of suffixes that w ends with, or "".
func firstSuffix[T letter](w []T, suffixes ...string) string {
	for _, s := range suffixes {
		if hasSuffix(w, s) {
			return s
		}
	}
	return ""
}

// vnv returns the index after the first non-vowel that follows a vowel at
// or after start, or len(w): the start of Porter2's R1 (from 0) and R2
// (from R1).
func vnv[T letter](w []T, start int) int {
	for j := start + 1; j < len(w); j++ {
		if vowel(w[j-1]) && !vowel(w[j]) {
			return j + 1
		}
	}
	return len(w)
}

// endsShortSyllable reports whether w[:i] ends in a short syllable: a
// non-vowel, a vowel, then a non-vowel other than w, x or Y; or, for a
// two-letter word, a vowel then a non-vowel.
func endsShortSyllable[T letter](w []T, i int) bool {
	switch {
	case i == 2:
		return vowel(w[0]) && !vowel(w[1])
	case i >= 3:
		s1, s2, s3 := w[i-1], w[i-2], w[i-3]
		return !vowel(s1) && s1 != 'w' && s1 != 'x' && s1 != 'Y' && vowel(s2) && !vowel(s3)
	}
	return false
}

// p2 is the state of one Porter2 run: the word, its length so far, and the
// starts of the regions R1 and R2.
type p2[T letter] struct {
	w      []T
	n      int
	r1, r2 int
}

func (z *p2[T]) word() []T { return z.w[:z.n] }

// setLen shortens the word and keeps R1 and R2 inside it.
func (z *p2[T]) setLen(n int) {
	z.n = n
	z.r1 = min(z.r1, n)
	z.r2 = min(z.r2, n)
}

// replace replaces the suffix of length l by repl (never longer than l).
func (z *p2[T]) replace(l int, repl string) {
	start := z.n - l
	for i := 0; i < len(repl); i++ {
		z.w[start+i] = T(repl[i])
	}
	z.setLen(start + len(repl))
}

// porter2 stems w (lower case, more than two letters) in place and returns
// the stem's length.
func porter2[T letter](w []T) int {
	z := p2[T]{w: w, n: len(w)}
	for i := range w {
		if w[i] == 'y' && (i == 0 || vowel(w[i-1])) {
			w[i] = 'Y'
		}
	}
	switch {
	case hasPrefix(w, "gener"), hasPrefix(w, "arsen"):
		z.r1 = 5
	case hasPrefix(w, "commun"):
		z.r1 = 6
	default:
		z.r1 = vnv(w, 0)
	}
	z.r2 = vnv(w, z.r1)

	z.step1a()
	z.step1b()
	z.step1c()
	z.step2()
	z.step3()
	z.step4()
	z.step5()

	for i := 0; i < z.n; i++ {
		if w[i] == 'Y' {
			w[i] = 'y'
		}
	}
	return z.n
}

// step1a: sses > ss; ied, ies > i after more than one letter, else ie;
// us, ss stay; s goes when a vowel precedes the letter before it.
func (z *p2[T]) step1a() {
	w := z.word()
	switch {
	case hasSuffix(w, "sses"):
		z.setLen(z.n - 2)
	case hasSuffix(w, "ied"), hasSuffix(w, "ies"):
		if z.n > 4 {
			z.setLen(z.n - 2)
		} else {
			z.setLen(z.n - 1)
		}
	case hasSuffix(w, "us"), hasSuffix(w, "ss"):
	case hasSuffix(w, "s"):
		for i := 0; i < z.n-2; i++ {
			if vowel(w[i]) {
				z.setLen(z.n - 1)
				return
			}
		}
	}
}

// step1b: eed, eedly > ee in R1; ed, edly, ing, ingly go after a vowel,
// then at, bl, iz gain an e, a double consonant loses one, and a short
// word gains an e.
func (z *p2[T]) step1b() {
	suf := firstSuffix(z.word(), "eedly", "ingly", "edly", "ing", "eed", "ed")
	switch suf {
	case "":
		return
	case "eed", "eedly":
		if len(suf) <= z.n-z.r1 {
			z.replace(len(suf), "ee")
		}
		return
	}
	stemEnd := z.n - len(suf)
	hasVowel := false
	for i := 0; i < stemEnd; i++ {
		if vowel(z.w[i]) {
			hasVowel = true
			break
		}
	}
	if !hasVowel {
		return
	}
	r1, r2 := z.r1, z.r2
	z.setLen(stemEnd)
	switch firstSuffix(z.word(), "at", "bl", "iz", "bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt") {
	case "":
		if z.r1 >= z.n && endsShortSyllable(z.w, z.n) {
			z.w[z.n] = 'e'
			z.n++
			z.r1, z.r2 = z.n, z.n
			return
		}
	case "at", "bl", "iz":
		z.w[z.n] = 'e'
		z.n++
	default:
		z.setLen(z.n - 1)
	}
	z.r1, z.r2 = min(r1, z.n), min(r2, z.n)
}

// step1c: a final y or Y after a non-vowel that is not the first letter
// becomes i.
func (z *p2[T]) step1c() {
	if z.n > 2 && (z.w[z.n-1] == 'y' || z.w[z.n-1] == 'Y') && !vowel(z.w[z.n-2]) {
		z.w[z.n-1] = 'i'
	}
}

// step2 maps double suffixes in R1 to single ones.
func (z *p2[T]) step2() {
	suf := firstSuffix(z.word(),
		"ational", "fulness", "iveness", "ization", "ousness",
		"biliti", "lessli", "tional", "alism", "aliti", "ation",
		"entli", "fulli", "iviti", "ousli", "anci", "abli",
		"alli", "ator", "enci", "izer", "bli", "ogi", "li",
	)
	if suf == "" || len(suf) > z.n-z.r1 {
		return
	}
	switch suf {
	case "li":
		if z.n >= 3 {
			switch z.w[z.n-3] {
			case 'c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't':
				z.setLen(z.n - 2)
			}
		}
		return
	case "ogi":
		if z.n >= 4 && z.w[z.n-4] == 'l' {
			z.replace(3, "og")
		}
		return
	}
	var repl string
	switch suf {
	case "tional":
		repl = "tion"
	case "enci":
		repl = "ence"
	case "anci":
		repl = "ance"
	case "abli":
		repl = "able"
	case "entli":
		repl = "ent"
	case "izer", "ization":
		repl = "ize"
	case "ational", "ation", "ator":
		repl = "ate"
	case "alism", "aliti", "alli":
		repl = "al"
	case "fulness", "fulli":
		repl = "ful"
	case "ousli", "ousness":
		repl = "ous"
	case "iveness", "iviti":
		repl = "ive"
	case "biliti", "bli":
		repl = "ble"
	case "lessli":
		repl = "less"
	}
	z.replace(len(suf), repl)
}

// step3 handles -ic-, -ful, -ness and the like in R1 (-ative in R2).
func (z *p2[T]) step3() {
	suf := firstSuffix(z.word(), "ational", "tional", "alize", "icate", "ative", "iciti", "ical", "ful", "ness")
	if suf == "" || len(suf) > z.n-z.r1 {
		return
	}
	var repl string
	switch suf {
	case "ative":
		if z.n-z.r2 >= 5 {
			z.setLen(z.n - 5)
		}
		return
	case "ational":
		repl = "ate"
	case "tional":
		repl = "tion"
	case "alize":
		repl = "al"
	case "icate", "iciti", "ical":
		repl = "ic"
	}
	z.replace(len(suf), repl)
}

// step4 removes -ance, -ent, -ism and the like in R2 (-ion after s or t).
func (z *p2[T]) step4() {
	suf := firstSuffix(z.word(),
		"ement", "ance", "ence", "able", "ible", "ment",
		"ent", "ant", "ism", "ate", "iti", "ous", "ive",
		"ize", "ion", "al", "er", "ic",
	)
	if suf == "" || len(suf) > z.n-z.r2 {
		return
	}
	if suf == "ion" && !(z.n >= 4 && (z.w[z.n-4] == 's' || z.w[z.n-4] == 't')) {
		return
	}
	z.setLen(z.n - len(suf))
}

// step5 removes a final e in R2, or in R1 when not after a short syllable,
// and the second l of a final ll in R2.
func (z *p2[T]) step5() {
	last := z.n - 1
	if z.r1 > last {
		return
	}
	switch {
	case z.w[last] == 'e':
		if z.r2 <= last || !endsShortSyllable(z.w, last) {
			z.setLen(last)
		}
	case z.r2 <= last && z.w[last] == 'l' && last >= 1 && z.w[last-1] == 'l':
		z.setLen(last)
	}
}
