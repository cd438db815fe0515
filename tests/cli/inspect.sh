#!/usr/bin/env bash
# The owl command as a user meets it: exit statuses, --help, text and JSON
# output of `owl inspect`, --hash against sha256sum, and error messages.
set -u
OWL=${OWL_BIN:-build/owl}
S=${OWL_SHARED:-../shared}
[ -f "$S/README.md" ] || { echo "FATAL: ground truth not found at $S"; exit 3; }
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_status() { # want cmd...
  local want=$1; shift
  "$@" >/tmp/owl-cli-out.$$ 2>/tmp/owl-cli-err.$$; local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $* :: $(head -c 300 /tmp/owl-cli-err.$$)"; fi
}
jq_get() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }

expect_status 0 "$OWL" --help
expect_status 0 "$OWL" inspect --help
grep -q -- "--hash" /tmp/owl-cli-out.$$ && ok || bad "inspect --help mentions --hash"
expect_status 2 "$OWL"
expect_status 2 "$OWL" frobnicate
expect_status 2 "$OWL" inspect
expect_status 2 "$OWL" inspect --ctx abc "$S/models/stories260K/stories260K.gguf"
expect_status 2 "$OWL" inspect --bogus "$S/models/stories260K/stories260K.gguf"
expect_status 3 "$OWL" inspect /nonexistent/model.gguf
grep -q "/nonexistent/model.gguf: no such file" /tmp/owl-cli-err.$$ && ok || bad "missing file message: $(cat /tmp/owl-cli-err.$$)"

tmp=$(mktemp -d)
printf 'GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00' > "$tmp/bad.gguf"
expect_status 1 "$OWL" inspect "$tmp/bad.gguf"
grep -q "$tmp/bad.gguf: byte 8: tensor count" /tmp/owl-cli-err.$$ && ok || bad "bad.gguf message: $(cat /tmp/owl-cli-err.$$)"

# text view of the real model carries the README's figures
expect_status 0 "$OWL" inspect "$S/models/stories260K/stories260K.gguf"
out=$(cat /tmp/owl-cli-out.$$)
for want in "parameters    292800" "tensors       48" "family        llama" "vocab     512" "blk.4.ffn_down.weight" "license       mit"; do
  grep -qF "$want" <<<"$out" && ok || bad "text view lacks '$want'"
done

# JSON view, memory at a chosen context: KV = 2 (K,V) * 5 layers * 4 heads * 8 dims * 2 bytes * 1024
expect_status 0 "$OWL" inspect --json --ctx 1024 "$S/models/stories260K/stories260K.gguf"
[ "$(jq_get 'o.memory.kv_cache' < /tmp/owl-cli-out.$$)" = "655360" ] && ok || bad "kv cache at ctx 1024"
[ "$(jq_get 'o.parameters' < /tmp/owl-cli-out.$$)" = "292800" ] && ok || bad "json parameters"
[ "$(jq_get 'o.dtype_totals.F32.tensors' < /tmp/owl-cli-out.$$)" = "48" ] && ok || bad "json dtype totals"

# --hash agrees with coreutils
expect_status 0 "$OWL" inspect --json --hash "$S/models/llama-2-tiny-random/llama-2-tiny-random.gguf"
want=$(sha256sum "$S/models/llama-2-tiny-random/llama-2-tiny-random.gguf" | cut -d' ' -f1)
[ "$(jq_get 'o.files[0].sha256' < /tmp/owl-cli-out.$$)" = "$want" ] && ok || bad "sha256 differs from sha256sum"

# chat template and metadata listing
expect_status 0 "$OWL" inspect --metadata --summary "$S/vocab/ggml-vocab-gpt-2.gguf"
grep -q "tokenizer.ggml.merges" /tmp/owl-cli-out.$$ && ok || bad "--metadata lists keys"
grep -q "count" /tmp/owl-cli-out.$$ && ok || bad "long arrays are shortened"

rm -rf "$tmp" /tmp/owl-cli-out.$$ /tmp/owl-cli-err.$$
echo "cli_inspect: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
