// Records, for every Unicode scalar value, what Hugging Face's BertNormalizer
// and BertPreTokenizer do with it, one step at a time. Output lines:
//   FIRST<TAB>LAST<TAB>flags
// for runs of code points with the same flags (code points with no flag are
// left out). Flags: drop (clean_text removes it), cleanws (clean_text turns
// it into a space), ws (the pre-tokenizer splits on it), punct (the
// pre-tokenizer isolates it), cjk (handle_chinese_chars isolates it),
// strip=HEX... (strip_accents' result), lower=HEX... (lowercase's result).
'use strict';
const t = require('tokenizers');
const { hex } = require('./common');

const clean = t.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
const chinese = t.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
const strip = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const lower = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });
const pre = t.bertPreTokenizer();

function flags(cp) {
  const c = String.fromCodePoint(cp);
  const f = [];
  const cl = clean.normalizeString(c);
  if (cl === '') f.push('drop');
  else if (cl === ' ' && c !== ' ') f.push('cleanws');
  else if (cl !== c) f.push('clean=' + hex(cl));
  const p = pre.preTokenizeString('a' + c + 'a');
  if (p.length === 2) f.push('ws');
  else if (p.length === 3) f.push('punct');
  else if (p.length !== 1) f.push('pre' + p.length);
  const ch = chinese.normalizeString(c);
  if (ch !== c) f.push(ch === ' ' + c + ' ' ? 'cjk' : 'chinese=' + hex(ch));
  const st = strip.normalizeString(c);
  if (st !== c) f.push('strip=' + hex(st));
  const lo = lower.normalizeString(c);
  if (lo !== c) f.push('lower=' + hex(lo));
  return f.join(' ');
}

const out = [];
let runStart = -1;
let runFlags = '';
let prev = -2;
function flush() {
  if (runStart >= 0) out.push(runStart.toString(16).toUpperCase() + '\t' + prev.toString(16).toUpperCase() + '\t' + runFlags);
  runStart = -1;
}
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue; // not scalar values
  const f = flags(cp);
  // Mappings differ per code point, so only plain flags form runs.
  const runnable = f !== '' && !f.includes('=');
  if (runStart >= 0 && !(runnable && f === runFlags && cp === prev + 1)) flush();
  if (f !== '') {
    if (runStart < 0) { runStart = cp; runFlags = f; }
    if (!runnable) { prev = cp; flush(); continue; }
  }
  prev = cp;
}
flush();
process.stdout.write('# tokenizers ' + require('tokenizers/package.json').version + ' BertNormalizer/BertPreTokenizer per code point\n');
process.stdout.write(out.join('\n') + '\n');
