// tokenizer_added_flags.mjs: added_tokens' lstrip and rstrip against Hugging
// Face's (@huggingface/transformers). A real tokenizer.json (SmolLM2's) is
// given added tokens that strip the whitespace beside them, as Phi-3's and
// many chat models' files do, and owl must give the reference's ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PreTrainedTokenizer } from '@huggingface/transformers';

const owl = process.env.OWL_BIN || 'build/owl';
const shared = process.env.OWL_SHARED || '../shared';
const json = JSON.parse(fs.readFileSync(path.join(shared, 'tokenizers/smollm2-135m/tokenizer.json'), 'utf8'));
const flags = { '<|im_start|>': { lstrip: true }, '<|im_end|>': { rstrip: true }, '<repo_name>': { lstrip: true, rstrip: true } };
let changed = 0;
for (const t of json.added_tokens) if (flags[t.content]) Object.assign(t, flags[t.content]), changed++;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'owl-added-'));
const file = path.join(dir, 'tokenizer.json');
fs.writeFileSync(file, JSON.stringify(json));
const ref = new PreTrainedTokenizer(json, {});
const texts = [];
for (const tok of Object.keys(flags))
  for (const l of ['', ' ', '  ', '\n', ' \t\n '])
    for (const r of ['', ' ', '  ', '\n', '\t x'])
      texts.push(`a${l}${tok}${r}b`, `${l}${tok}${r}`, `x ${l}${tok}${r} ${tok} y`);
texts.push('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', '  <|im_end|>  <|im_start|>  ', 'no added token here');
const r = spawnSync(owl, ['tokenize', file, '--jsonl'], { input: texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n', encoding: 'utf8' });
fs.rmSync(dir, { recursive: true });
let passed = 0, failed = 0;
if (changed !== 3 || r.status !== 0) {
  console.log(`FAIL: setup (${changed} tokens changed) or owl exit ${r.status}: ${r.stderr}`);
  failed++;
} else {
  const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l).ids);
  let bad = 0;
  texts.forEach((t, i) => {
    const want = ref.encode(t, { add_special_tokens: false });
    if (JSON.stringify(want) !== JSON.stringify(got[i])) {
      if (bad++ < 5) console.log(`  ${JSON.stringify(t)}\n    want ${JSON.stringify(want)}\n    got  ${JSON.stringify(got[i])}`);
    }
  });
  console.log(`${bad ? 'FAIL' : 'ok  '} lstrip/rstrip added tokens: ${texts.length - bad}/${texts.length} strings agree`);
  if (bad) failed++; else passed++;
}
console.log(`tokenizer_added_flags: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
