#!/usr/bin/env bash
# `owl synth`: models of real shapes with seeded random weights that owl
# (and llama.cpp, by their metadata and vocabulary) load and run: the tiny
# shape in every type owl can write, the same seed giving the same bytes.
source "$(dirname "$0")/../cli_common.bash"

expect_status 0 "$OWL" synth --help
expect_status 0 "$OWL" synth --list
for s in tinyllama-1.1b llama-3.2-1b qwen3-0.6b stories110m moe-tiny test-tiny test-k; do
  grep -q "^$s " "$tmp/out" && ok || bad "--list names $s"
done
expect_status 2 "$OWL" synth --shape test-tiny
expect_status 2 "$OWL" synth --shape nope --out "$tmp/x.gguf"
expect_status 2 "$OWL" synth --shape test-tiny --type Q9_9 --out "$tmp/x.gguf"
expect_status 1 "$OWL" synth --shape test-tiny --type Q4_K --out "$tmp/x.gguf"
[ ! -e "$tmp/x.gguf" ] && ok || bad "a failed synth leaves no file"
for t in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL; do
  if "$OWL" synth --shape test-tiny --type $t --out "$tmp/$t.gguf" 2>"$tmp/err"; then ok; else bad "synth $t: $(cat "$tmp/err")"; continue; fi
  "$OWL" inspect "$tmp/$t.gguf" --json > "$tmp/i.json" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
// 320 x 64 embeddings and output, 2 layers of q (64x64), k, v (64x32), o (64x64), three 64x128 MLP matrices, norms
const want = 2 * 320 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64;
if (j.family !== "llama" || j.parameters !== want || j.tokenizer.n_vocab !== 320) { console.error(j.parameters, want); process.exit(1); }' "$tmp/i.json" && ok || bad "inspect $t: $(head -c 300 "$tmp/i.json")"
  g=$("$OWL" logits "$tmp/$t.gguf" --ids 1,300,301 --greedy 4 2>"$tmp/err")
  [ "$(wc -w <<<"$g")" -eq 4 ] && ok || bad "logits on the $t model: '$g' $(cat "$tmp/err")"
done
# K types (rows of 256) and llama-quantize's mixed recipes
for t in Q2_K Q3_K Q4_K Q5_K Q6_K Q3_K_M Q4_K_S Q4_K_M Q5_K_S Q5_K_M; do
  if "$OWL" synth --shape test-k --type $t --out "$tmp/$t.gguf" 2>"$tmp/err"; then ok; else bad "synth test-k $t: $(cat "$tmp/err")"; continue; fi
  g=$("$OWL" logits "$tmp/$t.gguf" --ids 1,300,301 --greedy 4 2>"$tmp/err")
  [ "$(wc -w <<<"$g")" -eq 4 ] && ok || bad "logits on the $t model: '$g' $(cat "$tmp/err")"
done
"$OWL" inspect "$tmp/Q4_K_M.gguf" > "$tmp/i.txt" && grep -q "output.weight  *Q6_K" "$tmp/i.txt" && grep -q "blk.1.ffn_down.weight  *Q6_K" "$tmp/i.txt" &&
  grep -q "blk.0.ffn_down.weight  *Q4_K" "$tmp/i.txt" && ok || bad "Q4_K_M recipe types: $(grep weight "$tmp/i.txt" | head -5)"
expect_status 0 "$OWL" synth --shape test-tiny --type Q3_K_M --out "$tmp/f.gguf"
"$OWL" inspect "$tmp/f.gguf" | grep -q "blk.0.attn_q.weight  *IQ4_NL" && ok || bad "rows of 64: Q3_K falls back to IQ4_NL"
grep -q "multiple of 256" <("$OWL" synth --shape test-tiny --type Q4_K --out "$tmp/x.gguf" 2>&1) && ok || bad "a plain K type on rows of 64 says why"
[ "$("$OWL" tokenize "$tmp/F32.gguf" "ab")" != "" ] && ok || bad "the synthetic vocabulary tokenizes"
"$OWL" synth --shape test-tiny --type Q8_0 --seed 7 --out "$tmp/a.gguf" && "$OWL" synth --shape test-tiny --type Q8_0 --seed 7 --out "$tmp/b.gguf" &&
  cmp -s "$tmp/a.gguf" "$tmp/b.gguf" && ok || bad "the same seed gives the same file"
"$OWL" synth --shape test-tiny --type Q8_0 --seed 8 --out "$tmp/c.gguf" && ! cmp -s "$tmp/a.gguf" "$tmp/c.gguf" && ok || bad "another seed, other weights"
finish cli_synth
