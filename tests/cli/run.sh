#!/usr/bin/env bash
# `owl run` as a user meets it: greedy text equal to llama2.c's golden story,
# stop strings cut across token boundaries, seeded sampling repeatable across
# runs and thread counts, --json, a prompt that does not fit, bad usage.
source "$(dirname "$0")/../cli_common.bash"

expect_status 0 "$OWL" run --help
grep -q -- "--stop" "$tmp/out" && ok || bad "run --help mentions --stop"
"$OWL" --help | grep -q " run " && ok || bad "owl --help lists run"
expect_status 2 "$OWL" run "$M"
expect_status 2 "$OWL" run "$M" -p x -f y
expect_status 2 "$OWL" run "$M" -p x --temp hot
expect_status 2 "$OWL" run "$M" -p x --top-p 0
expect_status 3 "$OWL" run "$M" -f /nonexistent/prompt.txt
expect_status 1 "$OWL" run "$M" -p "Once upon a time" -n 20 --ctx 16
grep -q "context holds 16" "$tmp/err" && ok || bad "a prompt that does not fit says so: $(cat "$tmp/err")"

# greedy: the golden ids continue "Once upon a time" (ids 1 403 407 261 378 are their start)
gold=$(tr -s ' \n' ' ' < "$S/models/stories260K/stories260K_greedy_ids_n200.txt")
want=$("$OWL" detokenize "$M" $(cut -d' ' -f2-35 <<<"$gold"))
got="Once upon a time$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 30)"
[ "$got" = "$want" ] && ok || bad "greedy run: '$got' want '$want'"
# a stop string inside the story ends it just before
got=$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 30 --stop "Lily")
[ "$got" = ", there was a little girl named " ] && ok || bad "--stop Lily: '$got'"
got=$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 30 --stop "girl na" --stop "zzz")
[ "$got" = ", there was a little " ] && ok || bad "--stop across tokens: '$got'"

# logit bias: banning the first greedy token (432, ",") changes the text; an id past the vocabulary is refused
got=$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 5 --logit-bias 432=-inf)
[ -n "$got" ] && [ "${got:0:1}" != "," ] && ok || bad "--logit-bias 432=-inf: '$got'"
expect_status 2 "$OWL" run "$M" -p x --logit-bias 5000=1
expect_status 2 "$OWL" run "$M" -p x --logit-bias 5=abc
# seeded sampling: the same text every run and at 1 or 2 threads
a=$("$OWL" run "$M" -p "Once upon a time" --temp 1 --seed 7 -n 40 --threads 1)
b=$("$OWL" run "$M" -p "Once upon a time" --temp 1 --seed 7 -n 40 --threads 2)
c=$("$OWL" run "$M" -p "Once upon a time" --temp 1 --seed 8 -n 40)
[ "$a" = "$b" ] && [ -n "$a" ] && ok || bad "seed 7 differs across threads: '$a' vs '$b'"
[ "$a" != "$c" ] && ok || bad "seeds 7 and 8 gave the same text"

"$OWL" run "$M" -p "Once upon a time" --temp 0 -n 12 --json > "$tmp/j" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (j.tokens.length !== 12 || j.stop_reason !== "length" || j.n_prompt !== 5 || typeof j.text !== "string" ||
    !j.text.startsWith(", there was")) process.exit(1);' "$tmp/j" && ok || bad "--json: $(cat "$tmp/j")"
# logprobs: the greedy token is the most likely one, and the numbers are log-probabilities
"$OWL" run "$M" -p "Once upon a time" --temp 0 -n 5 --json --logprobs 3 > "$tmp/j" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = j.logprobs.length === 5 && j.logprobs.every((s, i) => s.id === j.tokens[i] && s.top.length === 3 &&
  s.top[0].id === s.id && Math.abs(s.top[0].logprob - s.logprob) < 1e-6 && s.logprob <= 0 &&
  s.top[0].logprob >= s.top[1].logprob && s.top[1].logprob >= s.top[2].logprob);
if (!ok) process.exit(1);' "$tmp/j" && ok || bad "--logprobs: $(head -c 400 "$tmp/j")"
expect_status 2 "$OWL" run "$M" -p x --logprobs 3
# --json-schema: the streamed text is JSON of the schema's shape, and generation ends with it
cat > "$tmp/schema.json" <<'SCHEMA'
{"type": "object", "properties": {"hero": {"type": "string", "maxLength": 16}, "age": {"type": "integer"},
 "friends": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 2}}, "required": ["hero", "age"]}
SCHEMA
for seed in 1 2 3; do
  "$OWL" run "$M" -p "Once upon a time" --json-schema "$tmp/schema.json" -n 300 --seed $seed > "$tmp/o" 2>"$tmp/err" && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = typeof j.hero === "string" && [...j.hero].length <= 16 && Number.isInteger(j.age) && Array.isArray(j.friends) &&
  j.friends.length <= 2 && j.friends.every((f) => typeof f === "string" && [...f].length <= 8) && Object.keys(j).length === 3;
if (!ok) process.exit(1);' "$tmp/o" && ok || bad "--json-schema seed $seed: $(cat "$tmp/o") $(head -c 200 "$tmp/err")"
done
echo '{"$ref": "#/$defs/missing"}' > "$tmp/bad.json"
expect_status 1 "$OWL" run "$M" -p x --json-schema "$tmp/bad.json"
"$OWL" run "$M" -p "Once" -n 4 --verbose >/dev/null 2>"$tmp/err" && grep -q "tokens/s" "$tmp/err" && ok || bad "--verbose: $(cat "$tmp/err")"

# --chat: the prompt as a user message through the template, the same as
# rendering it with `owl template` and running the rendered text
T=tests/data/chatml.jinja
echo '[{"role":"system","content":"Be brief."},{"role":"user","content":"Once upon a time"}]' >"$tmp/cm.json"
"$OWL" template --template "$T" --messages "$tmp/cm.json" --add-generation-prompt >"$tmp/cp.txt"
"$OWL" run "$M" -f "$tmp/cp.txt" -n 20 --temp 0 >"$tmp/want" 2>/dev/null
"$OWL" run "$M" --chat --system "Be brief." --template "$T" -p "Once upon a time" -n 20 --temp 0 >"$tmp/got" 2>"$tmp/err" &&
  [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got" && ok || bad "--chat != template + run: $(cat "$tmp/got") vs $(cat "$tmp/want") $(head -c 200 "$tmp/err")"
"$OWL" run "$M" -p "Once upon a time" -n 20 --temp 0 >"$tmp/plain" 2>/dev/null
cmp -s "$tmp/plain" "$tmp/got" && bad "--chat made no difference" || ok
expect_status 1 "$OWL" run "$M" --chat -p hi    # stories260K has no template: say how to give one
grep -q -- "--template" "$tmp/err" && ok || bad "--chat without a template: $(cat "$tmp/err")"
expect_status 2 "$OWL" run "$M" --system x -p hi

finish cli_run
