package lexical

// This file keeps the original Porter stemmer, which Lucene's
// EnglishAnalyzer uses, for TestEvalParameters to compare with Porter2.

// porter is the Porter stemming algorithm (M. F. Porter, "An algorithm for
// suffix stripping", 1980) with the two departures of Porter's reference
// implementation that Lucene's PorterStemFilter also has: -bli maps to -ble
// and -logi to -log in step 2.
//
// It works in place on lower-case bytes. Bytes outside ASCII count as
// consonants that never form a double consonant, so suffix rules, which
// only match ASCII letters, can never cut a UTF-8 sequence in half.
type porter struct {
	b []byte
	k int // index of the last byte of the word as stemmed so far
	j int // end of the stem before the suffix found by ends
}

// porterStem reduces b in place and returns the stem's length. Words of one or
// two bytes are left alone.
func porterStem(b []byte) int {
	if len(b) <= 2 {
		return len(b)
	}
	z := porter{b: b, k: len(b) - 1}
	z.step1ab()
	if z.k > 0 {
		z.step1c()
		z.step2()
		z.step3()
		z.step4()
		z.step5()
	}
	return z.k + 1
}

// cons reports whether b[i] is a consonant: not a, e, i, o, u, and not a y
// that follows a consonant.
func (z *porter) cons(i int) bool {
	switch z.b[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return i == 0 || !z.cons(i-1)
	}
	return true
}

// m counts the vowel-consonant sequences in b[0..j]: with C a consonant
// sequence and V a vowel sequence, a stem of the form [C](VC)^m[V].
func (z *porter) m() int {
	n, i := 0, 0
	for {
		if i > z.j {
			return n
		}
		if !z.cons(i) {
			break
		}
		i++
	}
	i++
	for {
		for {
			if i > z.j {
				return n
			}
			if z.cons(i) {
				break
			}
			i++
		}
		i++
		n++
		for {
			if i > z.j {
				return n
			}
			if !z.cons(i) {
				break
			}
			i++
		}
		i++
	}
}

// vowelInStem reports whether b[0..j] contains a vowel.
func (z *porter) vowelInStem() bool {
	for i := 0; i <= z.j; i++ {
		if !z.cons(i) {
			return true
		}
	}
	return false
}

// doubleC reports whether b[i-1..i] is a double consonant.
func (z *porter) doubleC(i int) bool {
	if i < 1 || z.b[i] != z.b[i-1] || z.b[i] >= 0x80 {
		return false
	}
	return z.cons(i)
}

// cvc reports whether b[i-2..i] is consonant-vowel-consonant with the last
// consonant not w, x or y (to restore an e in hop(e), but not in snow).
func (z *porter) cvc(i int) bool {
	if i < 2 || !z.cons(i) || z.cons(i-1) || !z.cons(i-2) {
		return false
	}
	switch z.b[i] {
	case 'w', 'x', 'y':
		return false
	}
	return true
}

// ends reports whether b[0..k] ends with s, and if so sets j to the end of
// the stem before it.
func (z *porter) ends(s string) bool {
	l := len(s)
	if l > z.k+1 {
		return false
	}
	if string(z.b[z.k-l+1:z.k+1]) != s {
		return false
	}
	z.j = z.k - l
	return true
}

// setTo replaces b[j+1..k] by s.
func (z *porter) setTo(s string) {
	copy(z.b[z.j+1:], s)
	z.k = z.j + len(s)
}

// r replaces the suffix found by ends with s when the stem has m() > 0.
func (z *porter) r(s string) {
	if z.m() > 0 {
		z.setTo(s)
	}
}

// step1ab removes plurals and -ed or -ing: caresses > caress, ponies > poni,
// cats > cat, agreed > agree, disabled > disable, matting > mat,
// mating > mate, meeting > meet, milling > mill, messing > mess.
func (z *porter) step1ab() {
	if z.b[z.k] == 's' {
		switch {
		case z.ends("sses"):
			z.k -= 2
		case z.ends("ies"):
			z.setTo("i")
		case z.b[z.k-1] != 's':
			z.k--
		}
	}
	if z.ends("eed") {
		if z.m() > 0 {
			z.k--
		}
		return
	}
	if (z.ends("ed") || z.ends("ing")) && z.vowelInStem() {
		z.k = z.j
		switch {
		case z.ends("at"):
			z.setTo("ate")
		case z.ends("bl"):
			z.setTo("ble")
		case z.ends("iz"):
			z.setTo("ize")
		case z.doubleC(z.k):
			switch z.b[z.k] {
			case 'l', 's', 'z':
			default:
				z.k--
			}
		default:
			z.j = z.k
			if z.m() == 1 && z.cvc(z.k) {
				z.setTo("e")
			}
		}
	}
}

// step1c turns a final y into i when there is another vowel in the stem.
func (z *porter) step1c() {
	if z.ends("y") && z.vowelInStem() {
		z.b[z.k] = 'i'
	}
}

// step2 maps double suffixes to single ones (-ization to -ize and so on)
// when the stem has m() > 0.
func (z *porter) step2() {
	switch z.b[z.k-1] {
	case 'a':
		z.replaceFirst("ational", "ate", "tional", "tion")
	case 'c':
		z.replaceFirst("enci", "ence", "anci", "ance")
	case 'e':
		z.replaceFirst("izer", "ize")
	case 'l':
		z.replaceFirst("bli", "ble", "alli", "al", "entli", "ent", "eli", "e", "ousli", "ous")
	case 'o':
		z.replaceFirst("ization", "ize", "ation", "ate", "ator", "ate")
	case 's':
		z.replaceFirst("alism", "al", "iveness", "ive", "fulness", "ful", "ousness", "ous")
	case 't':
		z.replaceFirst("aliti", "al", "iviti", "ive", "biliti", "ble")
	case 'g':
		z.replaceFirst("logi", "log")
	}
}

// step3 deals with -ic-, -full, -ness and the like.
func (z *porter) step3() {
	switch z.b[z.k] {
	case 'e':
		z.replaceFirst("icate", "ic", "ative", "", "alize", "al")
	case 'i':
		z.replaceFirst("iciti", "ic")
	case 'l':
		z.replaceFirst("ical", "ic", "ful", "")
	case 's':
		z.replaceFirst("ness", "")
	}
}

// replaceFirst takes pairs of suffix and replacement; for the first suffix
// the word ends with, it applies r with its replacement and stops.
func (z *porter) replaceFirst(pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if z.ends(pairs[i]) {
			z.r(pairs[i+1])
			return
		}
	}
}

// step4 takes off -ant, -ence and the like in context <c>vcvc<v>.
func (z *porter) step4() {
	var found bool
	switch z.b[z.k-1] {
	case 'a':
		found = z.ends("al")
	case 'c':
		found = z.ends("ance") || z.ends("ence")
	case 'e':
		found = z.ends("er")
	case 'i':
		found = z.ends("ic")
	case 'l':
		found = z.ends("able") || z.ends("ible")
	case 'n':
		found = z.ends("ant") || z.ends("ement") || z.ends("ment") || z.ends("ent")
	case 'o':
		found = z.ends("ion") && z.j >= 0 && (z.b[z.j] == 's' || z.b[z.j] == 't') || z.ends("ou")
	case 's':
		found = z.ends("ism")
	case 't':
		found = z.ends("ate") || z.ends("iti")
	case 'u':
		found = z.ends("ous")
	case 'v':
		found = z.ends("ive")
	case 'z':
		found = z.ends("ize")
	}
	if found && z.m() > 1 {
		z.k = z.j
	}
}

// step5 removes a final -e when m() > 1 (or m() == 1 and not *o), and
// changes -ll to -l when m() > 1.
func (z *porter) step5() {
	z.j = z.k
	if z.b[z.k] == 'e' {
		a := z.m()
		if a > 1 || a == 1 && !z.cvc(z.k-1) {
			z.k--
		}
	}
	if z.b[z.k] == 'l' && z.doubleC(z.k) && z.m() > 1 {
		z.k--
	}
}
