// Package llmtoken counts the tokens Llama 3 models see, for fitting
// prompts into a model's context window. Counts are of tokens, not
// characters.
//
// A Counter is exact when it is loaded with the Llama 3 tokenizer's ranks
// (LoadFile: the tiktoken-format tokenizer.model or the Hugging Face
// tokenizer.json of meta-llama/Meta-Llama-3-8B-Instruct or any Llama 3.x
// model). ragd does not ship that vocabulary: it is under Meta's Llama 3
// Community License. Without it, NewBound gives a Counter that is a proven
// upper bound: it uses OpenAI's cl100k_base ranks (MIT), which are exactly
// the first 100,256 of Llama 3's 128,000 ranks, with the same
// pre-tokenizer. BPE merges the lowest-ranked pair first, so on every piece
// Llama 3 makes the same merges cl100k makes and then possibly more with its
// extra tokens; every merge removes a token, so the Llama 3 count is never
// larger. The bound over-counts by a few percent on English and by up to
// about 60 % on CJK text.
package llmtoken

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
)

//go:embed cl100k_base.tiktoken.gz
var cl100kGz []byte

// Counter counts tokens. It is safe for concurrent use.
type Counter struct {
	ranks map[string]int
	exact bool
	name  string
}

// Exact reports whether counts are exact Llama 3 counts (true) or an upper
// bound (false).
func (c *Counter) Exact() bool { return c.exact }

// Name says which vocabulary the counter uses, for logs and /readyz.
func (c *Counter) Name() string { return c.name }

// NewBound returns a Counter that never under-counts Llama 3 tokens, built
// from the embedded cl100k_base ranks. It takes a few tens of
// milliseconds; build one and share it.
func NewBound() (*Counter, error) {
	zr, err := gzip.NewReader(bytes.NewReader(cl100kGz))
	if err != nil {
		return nil, fmt.Errorf("llmtoken: embedded ranks: %w", err)
	}
	ranks, err := parseTiktoken(zr)
	if err != nil {
		return nil, fmt.Errorf("llmtoken: embedded ranks: %w", err)
	}
	return &Counter{ranks: ranks, name: "cl100k_base (upper bound for Llama 3)"}, nil
}

// LoadFile returns an exact Counter from a Llama 3 tokenizer file: a
// tiktoken rank file ("tokenizer.model", lines of base64 token and rank) or
// a Hugging Face "tokenizer.json" with a byte-level BPE model. A file that
// is neither, or is not a Llama 3 vocabulary (128,000 ranks), is an
// EInvalid error.
func LoadFile(path string) (*Counter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "tokenizer file %q cannot be read", path)
	}
	var ranks map[string]int
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		ranks, err = parseTokenizerJSON(data)
	} else {
		ranks, err = parseTiktoken(bytes.NewReader(data))
	}
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "tokenizer file %q is not a tiktoken rank file or a tokenizer.json", path)
	}
	if len(ranks) != llama3Ranks {
		return nil, ragd.Errorf(ragd.EInvalid, "tokenizer file %q has %d tokens; a Llama 3 vocabulary has %d", path, len(ranks), llama3Ranks)
	}
	return &Counter{ranks: ranks, exact: true, name: "llama3 (" + filepath.Base(path) + ")"}, nil
}

const llama3Ranks = 128000

// FindLlama3 looks for Llama 3's tokenizer in a Hugging Face cache
// directory (HF_HOME/hub, or HF_HUB_CACHE): the snapshot of
// meta-llama/Meta-Llama-3-8B-Instruct (or Llama-3.1-8B-Instruct) holding
// original/tokenizer.model or tokenizer.json. It returns "" when there is
// none.
func FindLlama3(hubCache string) string {
	if hubCache == "" {
		return ""
	}
	for _, repo := range []string{
		"models--meta-llama--Llama-3.1-8B-Instruct",
		"models--meta-llama--Meta-Llama-3.1-8B-Instruct",
		"models--meta-llama--Meta-Llama-3-8B-Instruct",
	} {
		snaps, _ := filepath.Glob(filepath.Join(hubCache, repo, "snapshots", "*"))
		for _, snap := range snaps {
			for _, f := range []string{filepath.Join("original", "tokenizer.model"), "tokenizer.json"} {
				p := filepath.Join(snap, f)
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					return p
				}
			}
		}
	}
	return ""
}

func parseTiktoken(r interface{ Read([]byte) (int, error) }) (map[string]int, error) {
	ranks := make(map[string]int, llama3Ranks)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if len(text) == 0 {
			continue
		}
		sp := bytes.IndexByte(text, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("line %d: no rank", line)
		}
		tok := make([]byte, base64.StdEncoding.DecodedLen(sp))
		n, err := base64.StdEncoding.Decode(tok, text[:sp])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rank, err := strconv.Atoi(string(text[sp+1:]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		ranks[string(tok[:n])] = rank
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ranks) == 0 {
		return nil, fmt.Errorf("no ranks")
	}
	return ranks, nil
}

// parseTokenizerJSON reads the vocabulary of a byte-level BPE
// tokenizer.json; for Llama 3 the token ids are the tiktoken ranks.
func parseTokenizerJSON(data []byte) (map[string]int, error) {
	var tj struct {
		Model struct {
			Type  string         `json:"type"`
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "BPE" || len(tj.Model.Vocab) == 0 {
		return nil, fmt.Errorf("model type %q with %d tokens is not a byte-level BPE", tj.Model.Type, len(tj.Model.Vocab))
	}
	dec := byteDecoder()
	ranks := make(map[string]int, len(tj.Model.Vocab))
	buf := make([]byte, 0, 64)
	for tok, id := range tj.Model.Vocab {
		buf = buf[:0]
		for _, r := range tok {
			b, ok := dec[r]
			if !ok {
				return nil, fmt.Errorf("token %q is not byte-level encoded", tok)
			}
			buf = append(buf, b)
		}
		ranks[string(buf)] = id
	}
	return ranks, nil
}

// byteDecoder inverts GPT-2's bytes_to_unicode mapping that byte-level BPE
// vocabularies are written in.
func byteDecoder() map[rune]byte {
	m := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			m[rune(b)] = byte(b)
		} else {
			m[rune(256+n)] = byte(b)
			n++
		}
	}
	return m
}

// Count returns the number of tokens in s, as ordinary text (special-token
// strings such as "<|eot_id|>" count as the text they are). Invalid UTF-8
// is counted as U+FFFD, which is what a JSON request carries.
func (c *Counter) Count(s string) int {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	n := 0
	var scratch bpeScratch
	splitPieces(s, func(p string) {
		if _, ok := c.ranks[p]; ok {
			n++
			return
		}
		n += c.bpeCount(p, &scratch)
	})
	return n
}
