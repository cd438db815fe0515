// inspect_all.mjs: `owl inspect --json` on every model, vocabulary, tokenizer and
// adapter in ../shared; its figures must agree with ../shared/README.md (and, for
// tokenizer files, with counts taken from the files by independent means).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const owl = resolve(process.env.OWL_BIN || "build/owl");
const S = resolve(process.env.OWL_SHARED || "../shared");
if (!existsSync(join(S, "README.md"))) {
  console.error(`ground truth not found at ${S}`);
  process.exit(3);
}

const stories = { n_embd: 64, n_ff: 172, n_layer: 5, n_head: 8, n_head_kv: 4, n_vocab: 512, n_ctx_train: 512 };
// path relative to ../shared -> expected figures (hp: hyperparameters that must match)
const expect = {
  "models/stories260K/stories260K.gguf": { format: "gguf", family: "llama", tensors: 48, params: 292800, vocab: 512, hp: stories },
  "models/stories260K/stories260K.bin": { format: "llama2c", family: "llama", params: 260032, vocab: 512, hp: { ...stories, tied_embeddings: true } },
  "models/stories260K/stories260K_q80.bin": { format: "llama2c-int8", family: "llama", params: 260032, vocab: 512, hp: { ...stories, quant_group_size: 32 } },
  "models/stories260K/hf": { format: "huggingface", family: "llama", params: 260032, vocab: 512, hp: { ...stories, tied_embeddings: true } },
  "models/stories260K/tok512.bin": { vocab: 512, kind: "llama" },
  "models/stories260K/tok512.model": { format: "sentencepiece", vocab: 512, kind: "llama" },
  "models/aidreams260K/aidreams260K.bin": { format: "llama2c", family: "llama", vocab: 512,
    hp: { n_embd: 64, n_layer: 4, n_head: 4, n_head_kv: 4, n_ctx_train: 128, n_vocab: 512 } },
  "models/aidreams260K/aidreams_tok512.bin": { vocab: 512, kind: "llama" },
  "models/llama-2-tiny-random/llama-2-tiny-random.gguf": { format: "gguf", family: "llama", tensors: 12, params: 513048, vocab: 32000 },
  "vocab/ggml-vocab-llama-spm.gguf": { vocab: 32000, kind: "llama" },
  "vocab/ggml-vocab-phi-3.gguf": { vocab: 32064, kind: "llama" },
  "vocab/ggml-vocab-gpt-2.gguf": { vocab: 50257, kind: "gpt2" },
  "vocab/ggml-vocab-gpt-neox.gguf": { vocab: 50432, kind: "gpt2" },
  "vocab/ggml-vocab-mpt.gguf": { vocab: 50432, kind: "gpt2" },
  "vocab/ggml-vocab-starcoder.gguf": { vocab: 49152, kind: "gpt2" },
  "vocab/ggml-vocab-refact.gguf": { vocab: 49216, kind: "gpt2" },
  "vocab/ggml-vocab-falcon.gguf": { vocab: 65024, kind: "gpt2" },
  "vocab/ggml-vocab-deepseek-llm.gguf": { vocab: 102400, kind: "gpt2" },
  "vocab/ggml-vocab-deepseek-coder.gguf": { vocab: 32256, kind: "gpt2" },
  "vocab/ggml-vocab-baichuan.gguf": { vocab: 64000, kind: "llama" },
  "vocab/ggml-vocab-bert-bge.gguf": { vocab: 30522, kind: "bert" },
  "tokenizers/mistral/tokenizer.model.v1": { vocab: 32000, kind: "llama" },
  "tokenizers/mistral/mistral_instruct_tokenizer_240216.model.v2": { vocab: 32768, kind: "llama" },
  "tokenizers/mistral/mistral_instruct_tokenizer_240323.model.v3": { vocab: 32768, kind: "llama" },
  "tokenizers/mistral/mistral_instruct_tokenizer_241114.model.v7": { vocab: 32768, kind: "llama" },
  "tokenizers/llama2-32k/tokenizer.model": { vocab: 32000, kind: "llama" },
  "tokenizers/llama2-32k/tokenizer.bin": { vocab: 32000, kind: "llama" },
  "tokenizers/llama3.2-bpe": { vocab: 128000, kind: "gpt2", merges: 280147 },
  "tokenizers/smollm2-135m/tokenizer.json": { vocab: 49152, kind: "gpt2", merges: 48900 },
  "tokenizers/smollm2-135m": { family: "llama", vocab: 49152 },
  "tokenizers/olmo-test-model/tokenizer.json": { vocab: 50257, kind: "gpt2", merges: 50000 },
  "tokenizers/olmo-test-model": { vocab: 50257 },
  "tokenizers/olmo-tokenizers/allenai_dolma2.json": { vocab: 100278, kind: "gpt2", merges: 100000 },
  "tokenizers/olmo-tokenizers/allenai_eleuther-ai-gpt-neox-20b-pii-special.json": { vocab: 50280, kind: "gpt2", merges: 50009 },
  "tokenizers/olmo-tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json": { vocab: 50280, kind: "gpt2", merges: 50009 },
  "tokenizers/phi3-mini-128k-config": { family: "phi3" },
  "lora/gpt2-tigrinya-peft": { format: "peft-adapter", tensors: 72, adapter: { rank: 8, alpha: 32 } },
  "lora/discollama-mlx": { format: "mlx-adapter", tensors: 8, adapter: { rank: 8, alpha: 16 } },
};
// every reference model: architecture and tensor count from its info.json
for (const c of readdirSync(join(S, "reference"))) {
  const info = join(S, "reference", c, "info.json");
  if (!existsSync(info)) continue;
  const j = JSON.parse(readFileSync(info, "utf8"));
  expect[`reference/${c}/model.gguf`] = { format: "gguf", arch: j.arch, tensors: j.tensors.length, vocab: 512 };
}

let passed = 0, failed = 0;
for (const [rel, want] of Object.entries(expect)) {
  const problems = [];
  let r;
  try {
    r = JSON.parse(execFileSync(owl, ["inspect", "--json", join(S, rel)], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] }).toString());
  } catch (e) {
    failed++;
    console.log(`FAIL ${rel}: owl inspect exited ${e.status}: ${String(e.stderr).trim()}`);
    continue;
  }
  const eq = (what, got, exp) => { if (exp !== undefined && got !== exp) problems.push(`${what} ${got} (expected ${exp})`); };
  eq("format", r.format, want.format);
  eq("family", r.family, want.family);
  eq("architecture", r.architecture, want.arch);
  eq("tensors", r.tensor_count, want.tensors);
  eq("parameters", r.parameters, want.params);
  eq("vocabulary", r.tokenizer.n_vocab, want.vocab);
  eq("tokenizer kind", r.tokenizer.kind, want.kind);
  eq("merges", r.tokenizer.n_merges, want.merges);
  for (const [k, v] of Object.entries(want.hp || {})) eq(k, r.hparams[k] ?? (k === "tied_embeddings" ? false : undefined), v);
  for (const [k, v] of Object.entries(want.adapter || {})) eq(`adapter ${k}`, r.adapter?.[k], v);
  if (problems.length) {
    failed++;
    console.log(`FAIL ${rel}: ${problems.join("; ")}`);
  } else passed++;
}
console.log(`inspect_all: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
