package lexical

// isStopWord reports whether t is one of the 33 words of Lucene's classic
// English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
func isStopWord(t []byte) bool {
	switch len(t) {
	case 1:
		return t[0] == 'a'
	case 2:
		switch string(t) {
		case "an", "as", "at", "be", "by", "if", "in", "is", "it", "no", "of", "on", "or", "to":
			return true
		}
	case 3:
		switch string(t) {
		case "and", "are", "but", "for", "not", "the", "was":
			return true
		}
	case 4:
		switch string(t) {
		case "into", "such", "that", "then", "they", "this", "will", "with":
			return true
		}
	case 5:
		switch string(t) {
		case "their", "there", "these":
			return true
		}
	}
	return false
}

// StopWords returns Lucene's classic English stop set, the words that
// [Terms] drops, in alphabetical order.
func StopWords() []string {
	return []string{
		"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
		"no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
		"they", "this", "to", "was", "will", "with",
	}
}
