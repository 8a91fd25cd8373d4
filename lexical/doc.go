// Package lexical is ragd's one text analyzer and its BM25 ranking. Every
// store indexes chunks with [Terms] and ranks them with [Score], so lexical
// results agree across backends.
//
// Analysis follows Lucene's EnglishAnalyzer: text is lower-cased and split
// on anything that is not a letter, a combining mark or a digit (Han and
// Hiragana characters are one term each, as Lucene's StandardTokenizer
// emits them), a possessive 's is dropped, the classic English stop words
// are removed, and the rest are reduced by the Porter2 (Snowball English)
// stemmer, which ranked slightly better than Lucene's original Porter on
// SciFact. Terms longer than [MaxTermBytes] are dropped.
//
// Ranking is Lucene 8's BM25: for each distinct query term present in a
// chunk, IDF(docFreq, docCount) * TF(tf, docLen, avgDocLen), summed. The
// statistics are those of the whole collection, whatever the filter:
// docCount is the number of chunks in the collection, docFreq the number of
// them that contain the term, docLen a chunk's number of terms (stop words
// excluded) and avgDocLen the mean docLen over all chunks of the collection.
package lexical
