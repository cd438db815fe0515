#!/usr/bin/env bash
# LoRA against an independent implementation: a seeded PEFT adapter (r = 4, all
# seven projections of every layer) written by owl_lora_save_peft, applied by
# tests/js/lora_reference.mjs (a float64 Llama in Hugging Face's conventions,
# reading the safetensors itself) and by `owl logits --lora` on the GGUF base
# (q/k rows interleaved: owl must permute B) and on the Hugging Face base; then
# `owl merge` (F32 and Q8_0) against the unmerged adapter, and the CLI's refusals.
source "$(dirname "$0")/../cli_common.bash"
helper=${OWL_BUILD:-build}/tests/test_lora
ref() { node tests/js/lora_reference.mjs "$@"; }
HF="$S/models/stories260K/hf"
IDS=1,403,407,261,378
# within: A B TOL LABEL: max |A - B| <= TOL, printed
within() {
  local d; d=$(ref diff "$1" "$2") || { bad "$4: cannot compare"; return; }
  echo "$4: max abs diff $d (tolerance $3)"
  node -e 'process.exit(Number(process.argv[1]) <= Number(process.argv[2]) ? 0 : 1)' "$d" "$3" && ok || bad "$4: $d > $3"
}
# apart: A B MIN LABEL: max |A - B| >= MIN (the adapter does something)
apart() {
  local d; d=$(ref diff "$1" "$2") || { bad "$4: cannot compare"; return; }
  echo "$4: max abs diff $d (at least $3)"
  node -e 'process.exit(Number(process.argv[1]) >= Number(process.argv[2]) ? 0 : 1)' "$d" "$3" && ok || bad "$4: only $d"
}

[ -x "$helper" ] && ok || bad "$helper is not built (make $helper)"

# the reference without an adapter is llama.cpp's model: every position's top-8 ids
# as in once.json, logits within llama.cpp's F16-cache rounding (as tests/cli/logits.sh)
ref --model "$HF" --ids $IDS --out "$tmp/ref0.f32" && ok || bad "reference forward pass"
want=$(node -e 'const j=require(process.argv[1]);console.log(JSON.stringify(j.top.map(r=>r.map(x=>x[0]))))' \
  "$(realpath "$S/models/stories260K/ref/once.json")")
[ "$(ref top "$tmp/ref0.f32" 512 8)" = "$want" ] && ok || bad "reference top-8 ids differ from llama.cpp's once.json"
within "$tmp/ref0.f32" "$S/models/stories260K/ref/once.f32" 2e-2 "reference vs llama.cpp, no adapter"
expect_status 0 "$OWL" logits "$M" --ids $IDS --kv f32 --out "$tmp/owl0.f32"
within "$tmp/ref0.f32" "$tmp/owl0.f32" 1e-4 "reference vs owl, no adapter"

# the adapter, applied by the reference and by owl on both bases
"$helper" --write-peft "$tmp/ad" && ok || bad "writing the seeded adapter"
ref --model "$HF" --adapter "$tmp/ad" --ids $IDS --out "$tmp/ref.f32" && ok || bad "reference with the adapter"
apart "$tmp/ref.f32" "$tmp/ref0.f32" 0.5 "reference: with vs without the adapter"
expect_status 0 "$OWL" logits "$M" --lora "$tmp/ad" --ids $IDS --kv f32 --out "$tmp/gguf.f32"
within "$tmp/ref.f32" "$tmp/gguf.f32" 1e-4 "reference vs owl on the GGUF base (q/k permuted)"
expect_status 0 "$OWL" logits "$HF" --lora "$tmp/ad" --ids $IDS --kv f32 --out "$tmp/hf.f32"
within "$tmp/ref.f32" "$tmp/hf.f32" 1e-4 "reference vs owl on the Hugging Face base"
expect_status 0 "$OWL" logits "$M" --lora "$tmp/ad:0.5" --lora "$tmp/ad:0.5" --ids $IDS --kv f32 --out "$tmp/half.f32"
within "$tmp/gguf.f32" "$tmp/half.f32" 1e-4 "two adapters at 0.5 vs one at 1"
expect_status 0 "$OWL" logits "$M" --lora "$tmp/ad:0" --ids $IDS --kv f32 --out "$tmp/zero.f32"
within "$tmp/owl0.f32" "$tmp/zero.f32" 0 "scale 0 vs no adapter"

# merged: F32 equals the unmerged adapter; Q8_0 runs
expect_status 0 "$OWL" merge "$M" "$tmp/ad" --out "$tmp/merged.gguf"
grep -q "35 of 48 tensors merged" "$tmp/out" && ok || bad "merge summary: $(cat "$tmp/out")"
expect_status 0 "$OWL" logits "$tmp/merged.gguf" --ids $IDS --kv f32 --out "$tmp/merged.f32"
within "$tmp/gguf.f32" "$tmp/merged.f32" 1e-4 "merged F32 vs unmerged"
within "$tmp/ref.f32" "$tmp/merged.f32" 1e-4 "reference vs merged F32"
expect_status 0 "$OWL" merge "$M" "$tmp/ad" --out "$tmp/q8.gguf" --type q8_0 --json
node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
process.exit(j.merged===35&&j.tensors===48&&j.bytes>0?0:1)' "$tmp/out" && ok || bad "merge --json: $(cat "$tmp/out")"
expect_status 0 "$OWL" logits "$tmp/q8.gguf" --ids $IDS --kv f32 --out "$tmp/q8.f32"
within "$tmp/gguf.f32" "$tmp/q8.f32" 1.0 "merged Q8_0 vs unmerged"
"$OWL" inspect "$tmp/q8.gguf" --json > "$tmp/q8.json" 2>/dev/null && node -e '
const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")), t=j.tensors.find(t=>t.name==="blk.0.attn_q.weight");
process.exit(t && t.dtype==="Q8_0" ? 0 : 1)' "$tmp/q8.json" && ok || bad "merged q8 tensor type"
[ -z "$(ls "$tmp" | grep '\.tmp\.')" ] && ok || bad "temporary files left behind"

# generation with an adapter, and help texts
expect_status 0 "$OWL" run "$M" -p "Once upon a time" -n 8 --temp 0 --lora "$tmp/ad:0.3"
[ -s "$tmp/out" ] && ok || bad "run --lora printed nothing"
for v in run chat logits; do
  "$OWL" $v --help | grep -q -- "--lora A\[:S\]" && ok || bad "$v --help lacks --lora"
done
expect_status 0 "$OWL" merge --help
grep -q -- "--type T" "$tmp/out" && ok || bad "merge --help lacks --type"
"$OWL" --help | grep -q "merge" && ok || bad "owl --help lists merge"

# refusals
expect_status 3 "$OWL" logits "$M" --ids 1 --lora "$tmp/nonexistent"
expect_status 2 "$OWL" logits "$M" --ids 1 --lora "$M"
grep -q "not a LoRA adapter" "$tmp/err" && ok || bad "a base model as --lora: $(cat "$tmp/err")"
expect_status 2 "$OWL" logits "$M" --ids 1 --lora ":2"
expect_status 2 "$OWL" logits "$M" --ids 1 --lora "$tmp/ad:inf"
expect_status 2 "$OWL" merge "$M" --out "$tmp/x.gguf"
expect_status 2 "$OWL" merge "$M" "$tmp/ad"
expect_status 2 "$OWL" merge "$M" "$tmp/ad" --out "$tmp/x.gguf" --type Q9_9
expect_status 1 "$OWL" merge "$HF" "$tmp/ad" --out "$tmp/x.gguf"
grep -q "GGUF base" "$tmp/err" && ok || bad "merge of a non-GGUF base: $(cat "$tmp/err")"
[ ! -e "$tmp/x.gguf" ] && ok || bad "a refused merge wrote its output"
# an adapter for another model names the tensor
mkdir -p "$tmp/other"
cat > "$tmp/other/adapter_config.json" <<'EOF'
{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]}
EOF
node -e '
const h = JSON.stringify({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": {dtype: "F32", shape: [2, 128], data_offsets: [0, 1024]},
  "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": {dtype: "F32", shape: [128, 2], data_offsets: [1024, 2048]}});
const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
require("fs").writeFileSync(process.argv[1], Buffer.concat([len, Buffer.from(h), Buffer.alloc(2048)]));' "$tmp/other/adapter_model.safetensors"
expect_status 1 "$OWL" logits "$M" --ids 1 --lora "$tmp/other"
grep -q "blk.0.attn_q.weight" "$tmp/err" && ok || bad "shape mismatch names the tensor: $(cat "$tmp/err")"

finish cli_lora
