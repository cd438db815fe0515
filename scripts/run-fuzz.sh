#!/usr/bin/env bash
# Runs each libFuzzer binary given for FUZZ_SECONDS on its seed corpus
# (fuzz/corpus/NAME, copied to a scratch dir so the repo is not modified),
# plus the matching real files from ../shared as extra read-only seeds.
# Prints "NAME: 1 passed, 0 failed" per fuzzer; a crash fails it.
set -u
secs=${FUZZ_SECONDS:-10}
shared=${OWL_SHARED:-../shared}
log=build/fuzz/fuzz.log
mkdir -p build/fuzz
: > "$log"
status=0
for fz in "$@"; do
  name=$(basename "$fz")
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
  extra=()
  case $name in
    fuzz_gguf) extra+=("$shared/models/stories260K/stories260K.gguf" "$shared/reference/qwen2/model.gguf") ;;
    fuzz_engine) for c in llama qwen2 gemma2 phi3 gptneox bloom deepseek2 qwen3moe dtype_q4_k_m; do extra+=("$shared/reference/$c/model.gguf"); done ;;
    fuzz_llama2c) extra+=("$shared/models/stories260K/stories260K_q80.bin" "$shared/models/stories260K/tok512.bin") ;;
    fuzz_sentencepiece) extra+=("$shared/models/stories260K/tok512.model" "$shared/tokenizers/llama2-32k/tokenizer.model") ;;
  esac
  seeds=$(mktemp -d)
  for f in "${extra[@]}"; do [ -f "$f" ] && cp "$f" "$seeds/"; done
  if "$fz" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=1048576 -print_final_stats=0 \
       -artifact_prefix="build/fuzz/$name-" "$work" "$seeds" > "build/fuzz/$name.out" 2>&1; then
    echo "$name: 1 passed, 0 failed ($(grep -Eo 'Done [0-9]+ runs' "build/fuzz/$name.out" | tail -1 | awk '{print $2}') runs in ${secs}s)" | tee -a "$log"
  else
    tail -n 40 "build/fuzz/$name.out"
    echo "$name: 0 passed, 1 failed (see build/fuzz/$name.out)" | tee -a "$log"
    status=1
  fi
  rm -rf "$work" "$seeds"
done
exit $status
