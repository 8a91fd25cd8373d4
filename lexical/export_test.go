package lexical

// ScanWithStemmer exposes the analyzer with another stemmer, so that the
// evaluation tests can compare Porter with Porter2.
func ScanWithStemmer(text string, stem func([]byte) int, fn func(term []byte)) {
	scan(text, stem, fn)
}

// PorterStem exposes the original Porter stemmer.
func PorterStem(b []byte) int { return porterStem(b) }

// Porter2Stem exposes the Porter2 stemmer that Terms uses.
func Porter2Stem(b []byte) int { return stem(b) }
