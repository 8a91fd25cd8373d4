// Shared helpers for the generators: the BGE-style tokenizer.json built from
// the vocabulary that ships with the wordpiece package.
'use strict';
const fs = require('fs');
const path = require('path');

const vocabPath = path.join(__dirname, '..', '..', 'bert-base-uncased-vocab.txt');

function bgeTokenizerJSON() {
  const lines = fs.readFileSync(vocabPath, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = {};
  lines.forEach((t, i) => { vocab[t] = i; });
  const special = (c) => ({ id: vocab[c], content: c, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const cls = { id: '[CLS]', type_id: 0 };
  const sep = { id: '[SEP]', type_id: 0 };
  // The same layout as BAAI/bge-small-en-v1.5's tokenizer.json.
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: cls }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: sep }],
      pair: [{ SpecialToken: cls }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: sep },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

// hex formats code points as upper-case hex separated by spaces.
function hex(s) {
  return Array.from(s).map((c) => c.codePointAt(0).toString(16).toUpperCase()).join(' ');
}

module.exports = { bgeTokenizerJSON, hex };
