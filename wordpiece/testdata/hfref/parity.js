// Records Hugging Face tokenizers' output for the bert-base-uncased
// vocabulary with BGE's tokenizer.json settings, as golden files:
//
//   ../hf_strings.jsonl: hand-picked and random strings with their token IDs
//     and byte offsets (no special tokens), plus truncation and padding cases;
//   ../hf_eval.tsv: for each document of the evaluation corpora in
//     shared/eval (read in place, never copied), its token count and the
//     sha256 of its IDs, so the tests can check whole real documents.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Tokenizer } = require('tokenizers');
const { bgeTokenizerJSON } = require('./common');

const tj = bgeTokenizerJSON();
const tok = Tokenizer.fromString(JSON.stringify(tj));

// byteOffsets converts tokenizers' code point offsets to UTF-8 byte offsets.
function byteOffsets(text, offsets) {
  const cps = Array.from(text);
  const at = [0];
  for (const c of cps) at.push(at[at.length - 1] + Buffer.byteLength(c, 'utf8'));
  return offsets.map(([s, e]) => [at[s], at[e]]);
}

async function record(text) {
  const enc = await tok.encode(text, null, { addSpecialTokens: false });
  return { text, ids: enc.getIds(), offsets: byteOffsets(text, enc.getOffsets()) };
}

// mulberry32: a small seeded PRNG so the random strings are reproducible.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const handPicked = [
  'unaffable', 'Héllo', 'HÉLLO wörld', 'naïve café résumé', 'İstanbul ıi', 'Straße ß',
  '中文字 混合 text', '日本語のテキスト', '한국어 텍스트', '北京欢迎你!', '\u{F900}\u{2F800}\u{20000}\u{2B820}\u{2B920}',
  '$100 ^caret `backtick` ~tilde |pipe| \\back\\ {brace} <angle> _under_ @at #hash %pct &amp *star +plus =eq',
  '“Smart quotes” ‘single’ — em–en… ¡Hola! ¿Qué? «guillemets» ‹›',
  '😀 🥰 👍🏽 👨‍👩‍👧 🇫🇷 1️⃣ ❤️',
  'zero\u200Bwidth\u200Cnon\u200Djoiner\uFEFFbom\u2060wj',
  'soft\u00ADhyphen nb\u00A0sp line\u2028sep para\u2029sep ideo\u3000space',
  'ctrl\u0000nul\u0001soh\u0007bel\u000Bvt\u000Cff\u007Fdel\u0085nel\u009Fapc',
  'tab\tnew\nline\r\ncrlf',
  'bidi\u200Emark\u202Aembed\u202C end\u061Calm \u180Emvs',
  'replacement\uFFFDchar private\uE000use\u{F0000}',
  'a'.repeat(100), 'a'.repeat(101), 'é'.repeat(100), 'é'.repeat(101), 'x' + 'é'.repeat(99) + ' ok',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'hello [SEP] world [CLS][MASK][PAD][UNK] [sep] [SEP',
  'e\u0301 e\u0323\u0301 e\u0301\u0323 x\u08D4\u0323 x\u{1D165}\u0323 \u{1D15F}\u{1D165}\u{1D16D}\u{1D165}',
  'Ω Å K ﬁ ｆｕｌｌｗｉｄｔｈ ０１２ ℌ ⅷ ①',
  'Ελληνικά κείμενο Ά ΐ', 'Русский текст Ё й', 'עברית', 'العربية مع التشكيل: مَرْحَبًا', 'हिन्दी पाठ', 'ภาษาไทย',
  'Ǆ ǅ ǆ ẞ ſ ϴ', '\u0130\u0307', '\u{1FEF}\u037E\u0387 \u{1FED}',
  '\u{A7CB}\u{10D50}\u{16EA0} \u{1734} \u{11938} \u{111C9} \u{166D} \u{110CD} \u{13430} \u{0890}',
  '', ' ', '   \t\n ', '\u200B', 'a', '[SEP]',
  'The quick brown fox jumps over the lazy dog. It\'s 3.14159 - isn\'t it?',
  'https://developers.cloudflare.com/workers-ai/models/bge-small-en-v1.5/?q=1&x=y#anchor',
  'const x = await env.AI.run("@cf/baai/bge-base-en-v1.5", { text: ["hi"] });',
  '```js\nconsole.log(1);\n```', '| col | col2 |\n|---|---|', 'user@example.com 192.168.0.1 2024-01-02T03:04:05Z',
];

const pools = {
  ascii: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  asciiPunct: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  space: [' ', ' ', ' ', '\t', '\n', '\r', '\u000B', '\u000C', '\u00A0', '\u2003', '\u3000', '\u2028', '\u0085', '\u1680'],
  control: ['\u0000', '\u0001', '\u001F', '\u007F', '\u009F', '\u00AD', '\u200B', '\u200C', '\u200D', '\u200E', '\u2060', '\uFEFF', '\u180E', '\uFFFD', '\uE000', '\u{F0000}', '\u{E0001}', '\u{110BD}', '\u{110CD}', '\u0890'],
  latin: Array.from('éÉèêëàâäåÅçÇñÑöÖøØüÜßæÆœŒÿŸíÍóÓúÚıİſǅĳŉ'),
  marks: ['\u0300', '\u0301', '\u0308', '\u0323', '\u0327', '\u0345', '\u034F', '\u0591', '\u05B0', '\u064B', '\u0951', '\u093C', '\u094D', '\u0E48', '\u302A', '\u3099', '\uFE0F', '\u20DD', '\u0488', '\u08D4', '\u{1D165}', '\u{1D16D}', '\u0903', '\u1734', '\u{11938}'],
  scripts: Array.from('αβγΆΐΩωЁёжЖשלוםمرحبाहिन्दीไทย한국어가힣ㄱㅏ日本語ひらがなカタカナ中文漢字\u{F900}\u{FA0E}\u{20000}\u{2A6DF}\u{2B820}\u{2B920}\u{2F800}ｆＡ０'),
  punct: Array.from('—–…“”‘’«»‹›¡¿¶§·•†‡‰′″‼⁇。、「」『』【】〜・！？（）：；，．〈〉\u166D\u{111C9}\u2E42\u2E4F\u{16E97}'),
  symbols: Array.from('€£¥©®™°±×÷→∑√∞≤≥∆§¬¦¨´¸ˆ˜\u1FEF\u1FED\u037E\u0387\u2126\u212A\u212B\uFB01①ⅷ'),
  emoji: ['😀', '🥰', '👍', '🏽', '\u200D', '👩', '🇫', '🇷', '❤', '\uFE0F', '⃣', '1', '🤣', '🫠', '\u{1F90C}'],
  special: ['[SEP]', '[CLS]', '[UNK]', '[PAD]', '[MASK]', '[sep]', '[SEP', 'SEP]', '[[SEP]]'],
};
const vocabWords = Object.keys(tj.model.vocab).filter((w) => !w.startsWith('[')).map((w) => w.replace(/^##/, ''));

function randomString(rand) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const n = 1 + Math.floor(rand() * 30);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.25) s += pick(vocabWords);
    else if (r < 0.35) s += pick(pools.ascii);
    else if (r < 0.45) s += pick(pools.space);
    else if (r < 0.52) s += pick(pools.asciiPunct);
    else if (r < 0.57) s += pick(pools.control);
    else if (r < 0.64) s += pick(pools.latin);
    else if (r < 0.71) s += pick(pools.marks);
    else if (r < 0.79) s += pick(pools.scripts);
    else if (r < 0.85) s += pick(pools.punct);
    else if (r < 0.90) s += pick(pools.symbols);
    else if (r < 0.95) s += pick(pools.emoji);
    else if (r < 0.97) s += pick(pools.special);
    else if (r < 0.985) s += pick(vocabWords).toUpperCase();
    else s += pick(pools.latin).repeat(95 + Math.floor(rand() * 10));
  }
  return s;
}

function sha(ids) {
  return crypto.createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 16);
}

async function main() {
  const lines = [];
  for (const s of handPicked) lines.push(JSON.stringify(await record(s)));
  const rand = rng(20261105);
  for (let i = 0; i < 3000; i++) lines.push(JSON.stringify(await record(randomString(rand))));
  // Truncation (max_length counts [CLS] and [SEP]) and batch padding.
  const trunc = [
    ['the quick brown fox jumps over the lazy dog', 5],
    ['the quick brown fox', 6],
    ['the quick brown fox', 2],
    ['unaffable unaffable', 4],
    ['', 8],
  ];
  for (const [text, max] of trunc) {
    const t2 = Tokenizer.fromString(JSON.stringify(tj));
    t2.setTruncation(max);
    const enc = await t2.encode(text);
    lines.push(JSON.stringify({ encode: text, max_len: max, ids: enc.getIds(), type_ids: enc.getTypeIds(), mask: enc.getAttentionMask() }));
  }
  {
    const t2 = Tokenizer.fromString(JSON.stringify(tj));
    t2.setTruncation(512);
    t2.setPadding({ padId: tj.model.vocab['[PAD]'], padToken: '[PAD]' });
    const batch = ['short', 'a somewhat longer sentence, with punctuation!', '', 'naïve 中文'];
    const encs = await t2.encodeBatch(batch);
    lines.push(JSON.stringify({ batch, max_len: 512, ids: encs.map((e) => e.getIds()), type_ids: encs.map((e) => e.getTypeIds()), mask: encs.map((e) => e.getAttentionMask()) }));
  }
  fs.writeFileSync(path.join(__dirname, '..', 'hf_strings.jsonl'), lines.join('\n') + '\n');

  const evalDir = path.join(__dirname, '..', '..', '..', '..', 'shared', 'eval');
  const rows = ['# source\tdocument\ttokens\tsha256(ids joined by ",")[:16]'];
  const cf = path.join(evalDir, 'cfdocs', 'src');
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  for (const f of walk(cf).filter((f) => f.endsWith('.mdx')).sort()) {
    const enc = await tok.encode(fs.readFileSync(f, 'utf8'), null, { addSpecialTokens: false });
    rows.push(['cfdocs', path.relative(cf, f), enc.getIds().length, sha(enc.getIds())].join('\t'));
  }
  for (const set of ['scifact', 'squad']) {
    const docs = fs.readFileSync(path.join(evalDir, set, 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
    for (const d of docs) {
      const enc = await tok.encode(d.title + '\n' + d.text, null, { addSpecialTokens: false });
      rows.push([set, d._id, enc.getIds().length, sha(enc.getIds())].join('\t'));
    }
  }
  fs.writeFileSync(path.join(__dirname, '..', 'hf_eval.tsv'), rows.join('\n') + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
