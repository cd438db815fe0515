#!/usr/bin/env bash
# `owl logits` as outside checks use it: the logits file has n_ids x n_vocab
# float32 values and its rows match llama.cpp's (stories260K ref/once.f32),
# --greedy prints the golden ids, --json, and the exit statuses.
source "$(dirname "$0")/../cli_common.bash"

expect_status 0 "$OWL" logits --help
grep -q -- "--greedy" "$tmp/out" && ok || bad "logits --help mentions --greedy"
"$OWL" --help | grep -q "logits" && ok || bad "owl --help lists logits"
expect_status 2 "$OWL" logits "$M"
expect_status 2 "$OWL" logits "$M" --ids 1,x
expect_status 2 "$OWL" logits "$M" --ids 1 --kv f8
expect_status 2 "$OWL" logits "$M" --ids 1 --bogus
expect_status 3 "$OWL" logits /nonexistent.gguf --ids 1
expect_status 1 "$OWL" logits "$M" --ids 1,99999
grep -q "out of range" "$tmp/err" && ok || bad "an id past the vocabulary is named: $(cat "$tmp/err")"
expect_status 1 "$OWL" logits "$S/tokenizers/llama2-32k/tokenizer.model" --ids 1

# the logits file: 5 rows of 512, close to llama.cpp's
expect_status 0 "$OWL" logits "$M" --ids 1,403,407,261,378 --out "$tmp/l.f32"
[ "$(stat -c %s "$tmp/l.f32")" -eq $((5 * 512 * 4)) ] && ok || bad "logits file size $(stat -c %s "$tmp/l.f32")"
node -e '
const fs = require("fs");
const a = new Float32Array(fs.readFileSync(process.argv[1]).buffer.slice(0));
const b = new Float32Array(fs.readFileSync(process.argv[2]).buffer.slice(0));
let m = 0; for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
if (!(m <= 2e-2)) { console.error("max abs diff " + m); process.exit(1); }' "$tmp/l.f32" "$S/models/stories260K/ref/once.f32" && ok || bad "logits file differs from llama.cpp's once.f32"

# greedy: the golden ids of llama2.c
want=$(tr -s ' \n' ' ' < "$S/models/stories260K/stories260K_greedy_ids_n200.txt" | cut -d' ' -f2-21)
for t in 1 2; do
  got=$("$OWL" logits "$M" --ids 1 --greedy 20 --threads $t 2>"$tmp/err")
  [ "$got" = "$want" ] && ok || bad "greedy at $t threads: '$got' want '$want'"
done
got=$("$OWL" logits "$S/models/stories260K/hf" --ids 1 --greedy 20 --kv f32)
[ "$got" = "$want" ] && ok || bad "greedy from the Hugging Face directory: '$got'"
"$OWL" logits "$M" --ids 1 --greedy 3 --json > "$tmp/j" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (j.n_vocab !== 512 || j.n_ids !== 1 || JSON.stringify(j.greedy) !== JSON.stringify([403, 407, 261])) process.exit(1);' "$tmp/j" && ok || bad "--json: $(cat "$tmp/j")"

finish cli_logits
