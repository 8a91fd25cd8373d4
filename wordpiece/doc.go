// Package wordpiece is the BERT WordPiece tokenizer, producing the same
// tokens as Hugging Face's BertTokenizer and tokenizers library
// (BertNormalizer, BertPreTokenizer, WordPiece) for BERT-family models such
// as BAAI's BGE embedders.
//
// Tokenizing a text takes these steps, in Hugging Face's order:
//
//   - added tokens ("[CLS]", "[SEP]", ... in BERT vocabularies) are matched
//     literally in the input and kept whole;
//   - clean text: NUL, U+FFFD and control characters (Unicode Cc, Cf and
//     Co, so zero-width spaces and joiners, byte order marks and soft
//     hyphens too) are removed; white space becomes a space;
//   - each CJK ideograph becomes a word by itself;
//   - accents are stripped (NFD, then non-spacing marks dropped);
//   - the text is lower-cased;
//   - words are split on white space and punctuation (Unicode P* and all
//     ASCII symbols), each punctuation character becoming a word;
//   - each word is split greedily into the longest vocabulary pieces, later
//     pieces carrying the "##" prefix; a word of more than 100 characters,
//     or one with a part that matches no piece, is one [UNK] token.
//
// [Default] returns the tokenizer of BGE's English models, whose vocabulary
// (bert-base-uncased) is embedded, so that token counts need no model on
// disk. [Load] reads a model directory's tokenizer.json or vocab.txt.
//
// Tokens carry byte offsets into the original text, so callers can cut the
// text at token boundaries. [Tokenizer.Encode] and [Tokenizer.EncodeBatch]
// produce model inputs: [CLS] and [SEP] around the tokens, truncation, an
// attention mask and padding.
//
// The character tables follow tokenizers exactly, including its older
// (Unicode 8.0) tables for control, punctuation and mark characters; the
// tests check every code point, thousands of random strings and three
// evaluation corpora against output recorded from tokenizers itself.
package wordpiece
