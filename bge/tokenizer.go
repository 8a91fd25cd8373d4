package bge

import (
	"errors"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/wordpiece"
)

// wordpieceTokenizer adapts wordpiece.Tokenizer.
type wordpieceTokenizer struct{ t *wordpiece.Tokenizer }

func (w wordpieceTokenizer) encode(text string, maxLen int) []int32 {
	return w.t.Encode(text, maxLen).IDs
}

func (w wordpieceTokenizer) vocabSize() int { return w.t.VocabSize() }

// loadTokenizer reads dir's tokenizer.json, or vocab.txt.
func loadTokenizer(dir string) (tokenizer, error) {
	t, err := wordpiece.Load(dir)
	if err != nil {
		var re *ragd.Error
		if errors.As(err, &re) {
			// wordpiece names the file with its full path; keep that for
			// the log and name it relative to the model directory.
			return nil, modelError(re.Code, "tokenizer.json or vocab.txt", err, "not usable")
		}
		return nil, modelError(ragd.EInvalid, "tokenizer.json or vocab.txt", err, "not usable")
	}
	return wordpieceTokenizer{t}, nil
}
