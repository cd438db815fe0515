#!/usr/bin/env bash
# `owl bench`: usage, and one small run whose JSON holds every figure with
# sane values (positive rates and fractions; a 1 MB model is served from the
# caches, so its "fraction of DRAM bandwidth" may pass 1), the bytes a token reads
# equal to the model's matrices). Speed itself is never asserted here.
source "$(dirname "$0")/../cli_common.bash"
expect_status 0 "$OWL" bench --help
grep -q -- "--machine" "$tmp/out" && ok || bad "bench --help mentions --machine"
expect_status 2 "$OWL" bench
expect_status 2 "$OWL" bench "$M" -t 0
expect_status 2 "$OWL" bench "$M" -p 0 -n 0
expect_status 3 "$OWL" bench /nonexistent.gguf
# stories260K: 5 layers of q,k,v,o (64x64, 64x32 twice, 64x64) and w1,w2,w3 (64x172 each), plus output 64x512, F32
want_bytes=$(( (5 * (64*64 + 64*32 + 64*32 + 64*64 + 3*64*172) + 64*512) * 4 ))
"$OWL" bench "$M" -p 16 -n 8 -r 2 -t 1 --json > "$tmp/j" 2>"$tmp/err" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const r = j.runs[0], m = r.model;
const ok = j.runs.length === 1 && r.threads === 1 && r.machine.read_gb_per_s > 0.5 && r.machine.fma_gflop_per_s > 1 &&
  m.pp_tokens_per_s > 0 && m.tg_tokens_per_s > 0 && m.bytes_per_token === Number(process.argv[2]) &&
  m.tg_fraction_of_bandwidth > 0 && m.pp_fraction_of_peak > 0 && m.pp_fraction_of_peak < 1.5 &&
  m.pp_peak === "fma" && j.peak_rss_kb > 0;
if (!ok) { console.error(JSON.stringify(j)); process.exit(1); }' "$tmp/j" "$want_bytes" && ok || bad "bench --json: $(head -c 600 "$tmp/j") $(head -c 300 "$tmp/err")"
finish cli_bench
