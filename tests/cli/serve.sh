#!/usr/bin/env bash
# `owl serve` on a loopback port it picks itself: routes, OpenAI-shaped 400s,
# API keys on every route but /health (logs name the key id, never the key),
# non-loopback refused without keys, a 10 MB body refused, a slow-loris client
# dropped, the server still answering after all of it, and SIGTERM ending it.
source "$(dirname "$0")/../cli_common.bash"

expect_status 0 "$OWL" serve --help
grep -q -- "--api-key-file" "$tmp/out" && ok || bad "serve --help mentions --api-key-file"
expect_status 2 "$OWL" serve
expect_status 2 "$OWL" serve --model nameonly
expect_status 2 "$OWL" serve --model "s=$M" --port 70000
expect_status 2 "$OWL" serve --model "s=$M" --request-timeout 0
expect_status 2 "$OWL" serve --model "s=$M" --queue x
expect_status 2 "$OWL" serve --model "s=$M" --host 0.0.0.0 --port 0
grep -q "without --api-key-file" "$tmp/err" && ok || bad "non-loopback without keys says why: $(cat "$tmp/err")"

KEY=sk-owl-test-0123456789abcdef
printf '# test keys\nalice:%s\nbob:sk-owl-other-key-000000000000\n' "$KEY" > "$tmp/keys"
printf 'short\n' > "$tmp/badkeys"
expect_status 1 "$OWL" serve --model "s=$M" --api-key-file "$tmp/badkeys" --port 0

"$OWL" serve --model "s=$M" --chat-template tests/data/chatml.jinja --api-key-file "$tmp/keys" \
  --port 0 --threads 1 --timeout 2 2>"$tmp/log" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/log")
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { bad "server did not start: $(cat "$tmp/log")"; kill "$pid"; # a bounded queue: with room for one waiting request, a burst gets 429 with Retry-After
"$OWL" serve --model "s=$M" --port 0 --threads 1 --queue 1 2>"$tmp/log2" &
pid2=$!
port2=
for _ in $(seq 100); do
  port2=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/log2"); [ -n "$port2" ] && break; sleep 0.1
done
for i in $(seq 8); do
  curl -s -D "$tmp/h$i" -o /dev/null -d '{"model":"s","prompt":"Once","max_tokens":400,"seed":1}' "http://127.0.0.1:$port2/v1/completions" &
done
wait $(jobs -p | grep -v "^$pid2$") 2>/dev/null
n429=$(grep -l "^HTTP/1.1 429" "$tmp"/h* | wc -l); n200=$(grep -l "^HTTP/1.1 200" "$tmp"/h* | wc -l)
[ "$n429" -ge 1 ] && [ "$n200" -ge 1 ] && [ $((n429 + n200)) -eq 8 ] && ok || bad "queue bound: $n200 x 200, $n429 x 429"
grep -qi "^Retry-After: 1" $(grep -l "^HTTP/1.1 429" "$tmp"/h* | head -1) && ok || bad "429 carries Retry-After"
kill -TERM "$pid2"; wait "$pid2"
finish serve; exit; }
U=http://127.0.0.1:$port
A=(-H "Authorization: Bearer $KEY")
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
want() { # code curl-args...
  local w=$1; shift; local c; c=$(code "$@")
  [ "$c" = "$w" ] && ok || bad "HTTP $c (want $w): $* :: $(head -c 300 "$tmp/body")"
}

want 200 "$U/health"
for r in /v1/models /tokenize /detokenize /v1/chat/completions /v1/completions /metrics /nope; do
  want 401 "$U$r"
  want 401 -H "Authorization: Bearer wrong-key-0123456789" "$U$r"
  want 401 -H "Authorization: Bearer ${KEY}x" -d '{}' "$U$r"
done
grep -q '"error":{"message"' "$tmp/body" && ok || bad "401 body is an OpenAI error: $(cat "$tmp/body")"

want 200 "${A[@]}" "$U/v1/models"
grep -q '"id":"s"' "$tmp/body" && ok || bad "models lists s: $(cat "$tmp/body")"
grep -q "key=alice" "$tmp/log" && ok || bad "log names the key id"
grep -q -- "$KEY" "$tmp/log" && bad "log shows a key" || ok
want 200 "${A[@]}" -d '{"model":"s","content":"Once upon"}' "$U/tokenize"
[ "$(cat "$tmp/body")" = '{"tokens":[403,407]}' ] && ok || bad "tokenize: $(cat "$tmp/body")"
want 200 "${A[@]}" -d '{"model":"s","tokens":[403,407]}' "$U/detokenize"
[ "$(cat "$tmp/body")" = '{"content":"Once upon"}' ] && ok || bad "detokenize: $(cat "$tmp/body")"

# greedy completion equals owl run
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":20,"temperature":0}' "$U/v1/completions"
run=$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 20)
got=$(jq -r '.choices[0].text' "$tmp/body")
[ "$got" = "$run" ] && ok || bad "completion '$got' want '$run'"
[ "$(jq -r '.usage.completion_tokens' "$tmp/body")" = 20 ] && ok || bad "usage: $(cat "$tmp/body")"
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":30,"temperature":0,"stop":["Lily"]}' "$U/v1/completions"
[ "$(jq -r '.choices[0].text' "$tmp/body")" = ", there was a little girl named " ] && ok || bad "stop: $(cat "$tmp/body")"
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":5,"temperature":0,"logit_bias":{"432":-100}}' "$U/v1/completions"
got=$(jq -r '.choices[0].text' "$tmp/body")
[ "$got" = "$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 5 --logit-bias 432=-inf)" ] && ok || bad "logit_bias: '$got'"
want 200 "${A[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"seed":7}' "$U/v1/chat/completions"
[ "$(jq -r '.object' "$tmp/body")" = chat.completion ] && ok || bad "chat: $(cat "$tmp/body")"
want 200 "${A[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"seed":7,"stream":true,"stream_options":{"include_usage":true}}' "$U/v1/chat/completions"
tail -c 20 "$tmp/body" | grep -q 'data: \[DONE\]' && ok || bad "stream ends with [DONE]"
grep -q '"usage":{"prompt_tokens"' "$tmp/body" && ok || bad "stream has usage"

# hostile input
want 400 "${A[@]}" -d '{bad' "$U/v1/chat/completions"
want 400 "${A[@]}" -d '[]' "$U/v1/completions"
want 400 "${A[@]}" -d '' "$U/v1/completions"
want 400 "${A[@]}" -d '{"model":"s","model":"s","prompt":"a"}' "$U/v1/completions"
want 404 "${A[@]}" -d '{"model":"nope","prompt":"a"}' "$U/v1/completions"
for f in '"model":1' '"max_tokens":"9"' '"max_tokens":-1' '"max_tokens":1.5' '"temperature":"hot"' '"temperature":9' \
         '"top_p":true' '"seed":"x"' '"stream":1' '"stop":5' '"stop":[1]' '"stop":["a","b","c","d","e"]' '"n":2' \
         '"presence_penalty":3' \
         '"logit_bias":[]' '"logit_bias":{"x":1}' '"logit_bias":{"5":"a"}' '"logit_bias":{"99999999":1}' \
         '"response_format":{"type":"xml"}' '"response_format":{"type":"json_schema"}' '"response_format":"json"'; do
  want 400 "${A[@]}" -d "{\"model\":\"s\",\"prompt\":\"a\",$f}" "$U/v1/completions"
done
want 400 "${A[@]}" -d '{"model":"s","prompt":7}' "$U/v1/completions"
grep -q '"param":"prompt"' "$tmp/body" && ok || bad "400 names the param: $(cat "$tmp/body")"
for f in '"messages":"hi"' '"messages":[]' '"messages":[{"role":1,"content":"x"}]' '"messages":[{"role":"user","content":{}}]' '"messages":[7]'; do
  want 400 "${A[@]}" -d "{\"model\":\"s\",$f}" "$U/v1/chat/completions"
done
want 400 "${A[@]}" -d '{"model":"s","tokens":[99999999]}' "$U/detokenize"
want 400 "${A[@]}" -d '{"model":"s","tokens":"x"}' "$U/detokenize"
want 400 "${A[@]}" -d '{"model":"s","content":3}' "$U/tokenize"
head -c 10000000 /dev/zero | tr '\0' ' ' > "$tmp/big"
want 413 "${A[@]}" --data-binary @"$tmp/big" "$U/v1/completions"
want 413 "${A[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$tmp/big" "$U/v1/completions"

# slow loris: half a request header, then silence; the server closes within its 2 s timeout
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\n' >&3
t0=$SECONDS
timeout 8 cat <&3 >/dev/null; rc=$?
exec 3<&- 3>&-
[ "$rc" -ne 124 ] && [ $((SECONDS - t0)) -le 6 ] && ok || bad "slow-loris client not dropped (rc $rc after $((SECONDS - t0)) s)"

want 200 "$U/health"
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":20,"temperature":0}' "$U/v1/completions"
[ "$(jq -r '.choices[0].text' "$tmp/body")" = "$run" ] && ok || bad "still answers the same after the abuse"

# a client that goes away mid-stream: its generation stops at once (far short of max_tokens)
gen() { curl -s "${A[@]}" "$U/metrics" | sed -n 's/^owl_generated_tokens_total //p'; }
g0=$(gen)
curl -sN "${A[@]}" -d '{"model":"s","prompt":"Once","max_tokens":480,"seed":1,"stream":true}' "$U/v1/completions" | head -c 100 >/dev/null
sleep 0.5
g1=$(gen)
[ $((g1 - g0)) -lt 400 ] && ok || bad "disconnected stream kept generating: $((g1 - g0)) tokens"

want 200 "${A[@]}" "$U/"
grep -q "<title>owl chat</title>" "$tmp/body" && grep -q "/v1/chat/completions" "$tmp/body" && ok || bad "chat page at /"
want 401 "$U/"
want 200 "${A[@]}" "$U/metrics"
for m in 'owl_requests_total{code="401"}' owl_generated_tokens_total owl_queue_depth owl_batch_size \
         'owl_time_to_first_token_seconds_bucket{le="+Inf"}' owl_time_per_output_token_seconds_count; do
  grep -qF "$m" "$tmp/body" && ok || bad "metrics lack $m"
done
[ "$(sed -n 's/^owl_requests_total{code="413"} //p' "$tmp/body")" -ge 2 ] && ok || bad "metrics count the 413s"

# SIGTERM with streams in flight: they are cancelled and the server exits cleanly
for i in 1 2 3; do
  curl -sN "${A[@]}" -d '{"model":"s","prompt":"Once","max_tokens":480,"seed":1,"stream":true}' "$U/v1/completions" > "$tmp/s$i" &
done
sleep 0.05
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { bad "SIGTERM did not stop the server"; kill -KILL "$pid"; } || ok
wait "$pid"; [ $? -eq 0 ] && ok || bad "server exit status after SIGTERM"
# a bounded queue: with room for one waiting request, a burst gets 429 with Retry-After
"$OWL" serve --model "s=$M" --port 0 --threads 1 --queue 1 2>"$tmp/log2" &
pid2=$!
port2=
for _ in $(seq 100); do
  port2=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/log2"); [ -n "$port2" ] && break; sleep 0.1
done
for i in $(seq 8); do
  curl -s -D "$tmp/h$i" -o /dev/null -d '{"model":"s","prompt":"Once","max_tokens":400,"seed":1}' "http://127.0.0.1:$port2/v1/completions" &
done
wait $(jobs -p | grep -v "^$pid2$") 2>/dev/null
n429=$(grep -l "^HTTP/1.1 429" "$tmp"/h* | wc -l); n200=$(grep -l "^HTTP/1.1 200" "$tmp"/h* | wc -l)
[ "$n429" -ge 1 ] && [ "$n200" -ge 1 ] && [ $((n429 + n200)) -eq 8 ] && ok || bad "queue bound: $n200 x 200, $n429 x 429"
grep -qi "^Retry-After: 1" $(grep -l "^HTTP/1.1 429" "$tmp"/h* | head -1) && ok || bad "429 carries Retry-After"
kill -TERM "$pid2"; wait "$pid2"
finish serve
