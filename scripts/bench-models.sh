#!/usr/bin/env bash
# The standard model benchmark of `make bench`: random-weight models of real
# shapes made by `owl synth` (cached in build/bench/models), run by `owl bench`
# at 1 and 2 threads, and time to first token of `owl run`. Writes
# build/bench/models.md (a table beside llama.cpp's fractions on the same
# shapes from ../shared/perf.md) and build/bench/models.json.
#   BENCH_TYPES="Q4_0 Q8_0"  BENCH_P=512  BENCH_N=128  BENCH_R=3  to change the set.
set -euo pipefail
OWL=${OWL_BIN:-build/owl}
OUT=build/bench
mkdir -p "$OUT/models"
SHAPE=${BENCH_SHAPE:-tinyllama-1.1b}
TYPES=${BENCH_TYPES:-Q4_0 Q8_0 Q4_K_M BF16}
P=${BENCH_P:-512}
N=${BENCH_N:-128}
R=${BENCH_R:-3}

# llama.cpp's fractions on tinyllama-1.1b (../shared/perf.md): pp of the compute
# ceiling, tg of the bandwidth ceiling, at 1 / 2 threads
declare -A LLAMA_CPP=(
  [Q4_0]="14 / 13 % | 39 / 36 %" [Q4_K_M]="14 / 13 % | 40 / 39 %"
  [Q8_0]="10 / 9 % | 46 / 46 %" [F16]="45 / 42 % | 85 / 82 %" [BF16]="(F16) 45 / 42 % | (F16) 85 / 82 %"
)
[ "$SHAPE" = tinyllama-1.1b ] || LLAMA_CPP=()

json="["
{
  echo "# owl bench: $SHAPE (random weights), pp$P / tg$N, best of runs after a warm-up"
  echo
  echo "| type | pp$P t/s 1 / 2 threads | pp fraction of peak | tg$N t/s 1 / 2 threads | tg fraction of bandwidth | llama.cpp pp fraction | llama.cpp tg fraction | peak RSS over weights + KV | first token |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$OUT/models.md"
for t in $TYPES; do
  f="$OUT/models/$SHAPE-$t.gguf"
  if [ ! -s "$f" ]; then
    echo "bench: synthesizing $SHAPE $t" >&2
    if ! "$OWL" synth --shape "$SHAPE" --type "$t" --out "$f" >/dev/null 2>"$OUT/synth.err"; then
      echo "| $t | not measured: owl synth cannot make it ($(head -n 1 "$OUT/synth.err" | head -c 120)) | | | | | | | |" >>"$OUT/models.md"
      continue
    fi
  fi
  echo "bench: $f" >&2
  "$OWL" bench "$f" -p "$P" -n "$N" -t 1,2 -r "$R" --json >"$OUT/run.json"
  # time to first token: a one-token run, file in the page cache (second run)
  "$OWL" run "$f" -p "Once upon a time" -n 1 --temp 0 >/dev/null 2>&1
  t0=$(date +%s%N)
  "$OWL" run "$f" -p "Once upon a time" -n 1 --temp 0 >/dev/null 2>&1
  ttft_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  row=$(node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const f = (k, d) => r.runs.map((x) => x.model[k].toFixed(d)).join(" / ");
const pc = (k) => r.runs.map((x) => (100 * x.model[k]).toFixed(0)).join(" / ") + " %";
const over = 100 * (r.peak_rss_kb / 1024 / (r.weights_mb + r.kv_cache_mb) - 1);
console.log([f("pp_tokens_per_s", 1), pc("pp_fraction_of_peak") + " of " + r.runs[0].model.pp_peak,
  f("tg_tokens_per_s", 2), pc("tg_fraction_of_bandwidth"), process.argv[2],
  (r.peak_rss_model_only ? "" : ">= ") + over.toFixed(1) + " %", process.argv[3] + " ms"].join(" | "));
' "$OUT/run.json" "${LLAMA_CPP[$t]:-- | -}" "$ttft_ms")
  echo "| $t | $row |" >>"$OUT/models.md"
  json+=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    r.type = process.argv[2]; r.first_token_ms = +process.argv[3]; process.stdout.write(JSON.stringify(r))' \
    "$OUT/run.json" "$t" "$ttft_ms")","
done
echo "${json%,}]" >"$OUT/models.json"
rm -f "$OUT/run.json" "$OUT/synth.err"
cat "$OUT/models.md"
