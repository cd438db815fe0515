// owl serve: aggregate generation tokens/s for 8 concurrent clients against the
// same requests sent one at a time (the target with continuous batching
// is >= 2.5x). Model: OWL_BENCH_MODEL or stories260K.
import { spawn } from 'node:child_process';

const owl = process.env.OWL_BIN || 'build/owl';
const model = process.env.OWL_BENCH_MODEL || `${process.env.OWL_SHARED || '../shared'}/models/stories260K/stories260K.gguf`;
const srv = spawn(owl, ['serve', '--model', `m=${model}`, '--port', '0', '--threads', process.env.OWL_THREADS || '2'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((res) => {
  let log = '';
  srv.stderr.on('data', (d) => { log += d; const m = /127\.0\.0\.1:(\d+)/.exec(log); if (m) res(Number(m[1])); });
});
const url = `http://127.0.0.1:${port}/v1/completions`;
const one = async (i) => {
  const r = await fetch(url, { method: 'POST', body: JSON.stringify({ model: 'm', prompt: `Once upon a time ${i}`,
    max_tokens: 128, seed: i, ignore_eos: true }) });
  return (await r.json()).usage.completion_tokens;
};
const N = 8, K = 4;
let t = performance.now(), tok = 0;
for (let i = 0; i < N * K; i++) tok += await one(i);
const seq = tok / ((performance.now() - t) / 1e3);
t = performance.now(); tok = 0;
const counts = await Promise.all(Array.from({ length: N }, async (_, c) => {
  let s = 0;
  for (let k = 0; k < K; k++) s += await one(c * K + k);
  return s;
}));
tok = counts.reduce((a, b) => a + b, 0);
const conc = tok / ((performance.now() - t) / 1e3);
console.log(`serve: ${N * K} requests, one at a time ${seq.toFixed(0)} tokens/s, ${N} concurrent clients ${conc.toFixed(0)} tokens/s, ratio ${(conc / seq).toFixed(2)}x (target 2.5x)`);
srv.kill('SIGTERM');
