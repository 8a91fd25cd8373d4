package bge

import "strings"

// ModelFile is one file of a model repository on the Hugging Face Hub.
type ModelFile struct {
	// Path is the file's path in the repository, slash-separated.
	Path string
	// Required files must be present for Load to succeed; the others
	// refine its behaviour (pooling, maximum length, tokenizer settings).
	Required bool
	// Tokenizer files are alternatives: Load needs at least one of them
	// and prefers tokenizer.json.
	Tokenizer bool
}

// KnownModel describes a model ragd can run by name.
type KnownModel struct {
	// Name is the short name used in configuration, e.g. "bge-small-en-v1.5".
	Name string
	// Repo is the Hub repository, e.g. "BAAI/bge-small-en-v1.5".
	Repo string
	// Revision is the Hub revision to fetch.
	Revision string
	// Dimension is the embedding size.
	Dimension int
	// QueryInstruction is the text put in front of queries by default.
	QueryInstruction string
	// Files are the files to fetch into the model directory. Of the two
	// tokenizer files, tokenizer.json is used when present, vocab.txt
	// otherwise; at least one of them is needed.
	Files []ModelFile
}

// bgeFiles are the files of BAAI's BGE repositories that Load reads.
var bgeFiles = []ModelFile{
	{Path: "config.json", Required: true},
	{Path: "model.safetensors", Required: true},
	{Path: "tokenizer.json", Tokenizer: true},
	{Path: "vocab.txt", Tokenizer: true},
	{Path: "tokenizer_config.json"},
	{Path: "special_tokens_map.json"},
	{Path: "modules.json"},
	{Path: "1_Pooling/config.json"},
	{Path: "sentence_bert_config.json"},
	{Path: "config_sentence_transformers.json"},
}

// KnownModels returns the models ragd can run by name, the default
// (bge-small-en-v1.5) first.
func KnownModels() []KnownModel {
	mk := func(size string, dim int) KnownModel {
		files := make([]ModelFile, len(bgeFiles))
		copy(files, bgeFiles)
		return KnownModel{
			Name:             "bge-" + size + "-en-v1.5",
			Repo:             "BAAI/bge-" + size + "-en-v1.5",
			Revision:         "main",
			Dimension:        dim,
			QueryInstruction: BGEQueryInstruction,
			Files:            files,
		}
	}
	return []KnownModel{mk("small", 384), mk("base", 768), mk("large", 1024)}
}

// LookupModel returns the known model with the given name (case-insensitive;
// the "BAAI/" repository form is accepted too).
func LookupModel(name string) (KnownModel, bool) {
	for _, m := range KnownModels() {
		if strings.EqualFold(name, m.Name) || strings.EqualFold(name, m.Repo) {
			return m, true
		}
	}
	return KnownModel{}, false
}
