#!/usr/bin/env bash
# `owl tokenize` and `owl detokenize` as a user meets them: ids for known
# inputs (llama.cpp's vectors and the stories260K reference), --json,
# --jsonl, --file, special-token handling, exit statuses and messages.
set -u
OWL=${OWL_BIN:-build/owl}
S=${OWL_SHARED:-../shared}
[ -f "$S/README.md" ] || { echo "FATAL: ground truth not found at $S"; exit 3; }
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
out=/tmp/owl-cli-tok-out.$$ err=/tmp/owl-cli-tok-err.$$
expect_status() { # want cmd...
  local want=$1; shift
  "$@" >"$out" 2>"$err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $* :: $(head -c 300 "$err")"; fi
}
expect_out() { # want-stdout cmd...
  local want=$1; shift
  local got; got=$("$@" 2>"$err"); local rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok; else bad "$* gave '$got' (exit $rc, want '$want') $(head -c 200 "$err")"; fi
}
SPM="$S/vocab/ggml-vocab-llama-spm.gguf"; GPT2="$S/vocab/ggml-vocab-gpt-2.gguf"

expect_status 0 "$OWL" tokenize --help
grep -q -- "--split-special" "$out" && ok || bad "tokenize --help mentions --split-special"
expect_status 0 "$OWL" detokenize --help
grep -q -- "--special" "$out" && ok || bad "detokenize --help mentions --special"
"$OWL" --help | grep -q "tokenize" && ok || bad "owl --help lists tokenize"
expect_status 2 "$OWL" tokenize
expect_status 2 "$OWL" tokenize "$SPM"
expect_status 2 "$OWL" tokenize "$SPM" --bogus "x"
expect_status 2 "$OWL" tokenize "$SPM" "a" "b"
expect_status 2 "$OWL" detokenize "$SPM" 1,x
expect_status 3 "$OWL" tokenize /nonexistent/model.gguf "x"

# the stories260K reference ids (models/stories260K/ref/once.json), with BOS
expect_out "1 403 407 261 378" "$OWL" tokenize --add-special "$S/models/stories260K/stories260K.gguf" "Once upon a time"
expect_out "Once upon a time" "$OWL" detokenize "$S/models/stories260K/stories260K.gguf" 1 403 407 261 378
expect_out "Once upon a time" "$OWL" detokenize "$S/models/stories260K/stories260K.gguf" 1,403,407,261,378
expect_out "<s> Once upon a time" "$OWL" detokenize --special "$S/models/stories260K/stories260K.gguf" 1,403,407,261,378
# llama.cpp's vectors: " Hello world" in llama-spm and gpt-2
expect_out "29871 15043 3186" "$OWL" tokenize "$SPM" " Hello world"
expect_out "18435 995" "$OWL" tokenize "$GPT2" " Hello world"
# special-token text: parsed by default, plain text with --split-special
expect_out "64 50256" "$OWL" tokenize "$GPT2" "a<|endoftext|>"
expect_out "64 27 91 437 1659 5239 91 29" "$OWL" tokenize --split-special "$GPT2" "a<|endoftext|>"
expect_out "a" "$OWL" detokenize "$GPT2" 64 50256
expect_out "a<|endoftext|>" "$OWL" detokenize --special "$GPT2" 64 50256
# --json
expect_out '{"ids":[1,15043],"tokens":["<s>","\u2581Hello"]}' "$OWL" tokenize --json --add-special "$SPM" "Hello"
expect_out '{"text":"Hello world"}' "$OWL" detokenize --json "$SPM" 15043,3186
# --file and --jsonl
tmp=$(mktemp -d)
printf ' Hello world' > "$tmp/in.txt"
expect_out "18435 995" "$OWL" tokenize "$GPT2" --file "$tmp/in.txt"
printf '{"text":" Hello world"}\n{"text":"a<|endoftext|>"}\n{"text":""}\n' > "$tmp/in.jsonl"
got=$("$OWL" tokenize "$GPT2" --jsonl < "$tmp/in.jsonl")
want=$'{"ids":[18435,995]}\n{"ids":[64,50256]}\n{"ids":[]}'
[ "$got" = "$want" ] && ok || bad "--jsonl gave: $got"
printf '{"text":"a"}\nnot json\n' > "$tmp/bad.jsonl"
"$OWL" tokenize "$GPT2" --jsonl < "$tmp/bad.jsonl" >"$out" 2>"$err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "line 2" "$err" && [ "$(cat "$out")" = '{"ids":[64]}' ] && ok || bad "--jsonl bad line: exit $rc, $(cat "$err")"
# errors name what is wrong
expect_status 1 "$OWL" detokenize "$GPT2" 50257
grep -q "id 50257 at position 0 is out of range" "$err" && ok || bad "out-of-range message: $(cat "$err")"
expect_status 3 "$OWL" tokenize "$GPT2" --file "$tmp/missing.txt"
rm -rf "$tmp" "$out" "$err"
echo "cli_tokenize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
