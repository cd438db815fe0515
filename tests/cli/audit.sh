#!/usr/bin/env bash
# audit.sh: `owl serve --audit-log` on a loopback port it picks itself: one
# hash-chained line per request (200, 401, 400, 404, a stream) with the right
# fields and no text unless --audit-content; 24 concurrent requests make one
# valid chain of whole lines; another writer's line and a restart continue the
# chain; a request with no response still gets its line (status 0); a log
# that cannot be written fails requests with 500; /v1/models and
# X-Owl-Model-Digest carry the manifest's tensor digest; tampering is named by
# line; `owl audit query` filters by model, key, status and time.
source "$(dirname "$0")/../cli_common.bash"

KEY=sk-owl-test-0123456789abcdef
BOB=sk-owl-bobs-key-00000000000000
printf 'alice:%s\nbob:%s\n' "$KEY" "$BOB" > "$tmp/keys"
T=tests/data/chatml.jinja
L=$tmp/serve.jsonl

pid=
start() { # log extra-args...: starts owl serve on the log; sets pid and U, fails if it does not listen
  local log=$1; shift
  "$OWL" serve --model "s=$M" --chat-template "$T" --api-key-file "$tmp/keys" --port 0 --threads 1 \
    --audit-log "$log" "$@" 2>"$tmp/serve.err" &
  pid=$!
  local port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/serve.err")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  U=http://127.0.0.1:$port
  [ -n "$port" ] && ok || { bad "server did not start: $(cat "$tmp/serve.err")"; finish audit; exit; }
}
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
code() { curl -s -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@"; }
want() { # code curl-args...
  local w=$1; shift; local c; c=$(code "$@")
  [ "$c" = "$w" ] && ok || bad "HTTP $c (want $w): $* :: $(head -c 300 "$tmp/body")"
}
header() { sed -n "s/^$1: \\(.*\\)\\r\$/\\1/Ip" "$tmp/head"; }
line() { sed -n "${1}p" "$2"; }
A=(-H "Authorization: Bearer $KEY")
B=(-H "Authorization: Bearer $BOB")

expect_status 0 "$OWL" serve --help
grep -q -- '--audit-log F' "$tmp/out" && grep -q 'per GB' "$tmp/out" && ok || bad "serve --help: --audit-log and the hashing cost"
expect_status 0 "$OWL" audit query --help
grep -q -- '--since T' "$tmp/out" && grep -q -- '--no-verify' "$tmp/out" && ok || bad "audit query --help"
expect_status 2 "$OWL" serve --model "s=$M" --audit-content
D=sha256:$("$OWL" manifest "$M" | jq -r .tensor_data_sha256)
[ ${#D} -eq 71 ] && ok || bad "manifest digest: $D"
TD=sha256:$(sha256sum "$T" | cut -c1-64)

# ---- one line per request, in order, with its fields
t_start=$(date +%s)
start "$L"
want 200 "$U/health" # not audited
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":5,"temperature":0,"seed":11}' "$U/v1/completions"
[ "$(header X-Owl-Model-Digest)" = "$D" ] && ok || bad "completion digest header '$(header X-Owl-Model-Digest)' want $D"
rid1=$(header X-Request-Id); text1=$(jq -r '.choices[0].text' "$tmp/body"); id1=$(jq -r .id "$tmp/body")
want 401 -H "Authorization: Bearer sk-owl-wrong-key-0000000000" -d '{"model":"s","prompt":"secret words"}' "$U/v1/completions"
want 400 "${A[@]}" -d '{bad' "$U/v1/completions"
want 400 "${A[@]}" -d '{"model":"s","prompt":"a","temperature":9}' "$U/v1/completions"
want 404 "${B[@]}" -d '{"model":"nope","prompt":"a"}' "$U/v1/completions"
want 200 "${B[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hello there"}],"max_tokens":4,"seed":3,"stream":true}' "$U/v1/chat/completions"
[ "$(header X-Owl-Model-Digest)" = "$D" ] && ok || bad "stream digest header: $(cat "$tmp/head")"
[ "$(header Content-Type)" = text/event-stream ] && tail -c 20 "$tmp/body" | grep -q '\[DONE\]' && ok || bad "stream: $(tail -c 200 "$tmp/body")"
want 200 "${A[@]}" "$U/v1/models"
jq -e --arg d "$D" '.object == "list" and .data[0].id == "s" and .data[0].object == "model" and .data[0].owl.digest == $d' "$tmp/body" >/dev/null &&
  ok || bad "/v1/models digest: $(cat "$tmp/body")"
[ "$(wc -l < "$L")" -eq 7 ] && ok || bad "7 requests, $(wc -l < "$L") lines: $(cat "$L")"
expect_status 0 "$OWL" audit verify "$L"

l=$(line 1 "$L")
jq -e --arg d "$D" --arg r "$rid1" --arg id "$id1" '.seq == 1 and .verb == "serve" and .status == 200 and .key_id == "alice"
  and .route == "/v1/completions" and .method == "POST" and .model == "s" and .model_digest == $d
  and (has("adapter_digest") and .adapter_digest == null) and .template_digest == null
  and .request_id == $r and ("cmpl-" + .request_id) == $id and .stream == false
  and .sampler.seed == 11 and .sampler.temperature == 0 and .sampler.top_p == 1 and .sampler.max_tokens == 5
  and .prompt_tokens == 5 and .completion_tokens == 5 and .finish_reason == "length"
  and (.duration_ms | type) == "number" and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
  and (has("prompt") or has("completion") or has("messages") | not)' <<<"$l" >/dev/null && ok || bad "line 1: $l"
l=$(line 2 "$L"); jq -e '.status == 401 and .key_id == null and .model == null and .route == "/v1/completions"' <<<"$l" >/dev/null && ok || bad "line 2 (401): $l"
l=$(line 3 "$L"); jq -e '.status == 400 and .key_id == "alice" and .model == null' <<<"$l" >/dev/null && ok || bad "line 3 (malformed): $l"
l=$(line 4 "$L"); jq -e --arg d "$D" '.status == 400 and .model == "s" and .model_digest == $d and (has("sampler") | not)' <<<"$l" >/dev/null && ok || bad "line 4 (bad field): $l"
l=$(line 5 "$L"); jq -e '.status == 404 and .key_id == "bob" and .model == "nope" and .model_digest == null' <<<"$l" >/dev/null && ok || bad "line 5 (404): $l"
l=$(line 6 "$L"); jq -e --arg d "$D" --arg t "$TD" '.status == 200 and .stream == true and .route == "/v1/chat/completions"
  and .key_id == "bob" and .model_digest == $d and .template_digest == $t and .sampler.seed == 3
  and .prompt_tokens > 0 and .completion_tokens == 4' <<<"$l" >/dev/null && ok || bad "line 6 (stream): $l"
l=$(line 7 "$L"); jq -e '.status == 200 and .route == "/v1/models" and .method == "GET"' <<<"$l" >/dev/null && ok || bad "line 7 (models): $l"
jq -e -s '[.[] | .sampler.seed // empty] | length == 2' "$L" >/dev/null && ok || bad "sampler only on valid generations: $(jq -c .sampler "$L")"
! grep -q -e 'Once upon' -e 'hello there' -e 'secret words' "$L" && ok || bad "text recorded without --audit-content"
! grep -q -e "$KEY" -e "$BOB" -e 'sk-owl-wrong' "$L" && ok || bad "a key in the audit log"

# ---- concurrent requests: one valid chain, every line whole JSON, one per request
for i in $(seq 1 24); do
  case $((i % 4)) in
    0) curl -s -o /dev/null -H "Authorization: Bearer nope-nope-nope-nope" "$U/v1/models" & ;;
    1) curl -s -o /dev/null "${A[@]}" -d "{\"model\":\"s\",\"prompt\":\"Once\",\"max_tokens\":3,\"seed\":$i}" "$U/v1/completions" & ;;
    2) curl -s -o /dev/null "${B[@]}" -d '{"model":"s","prompt":' "$U/v1/completions" & ;;
    3) curl -s -o /dev/null "${B[@]}" -d "{\"model\":\"s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2,\"stream\":true}" "$U/v1/chat/completions" & ;;
  esac
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
expect_status 0 "$OWL" audit verify "$L" --json
jq -e '.intact and .lines == 31' "$tmp/out" >/dev/null && ok || bad "concurrent chain: $(cat "$tmp/out")"
[ "$(jq -R 'fromjson | .seq' "$L" | wc -l)" -eq 31 ] && ok || bad "a line that is not JSON after concurrent requests"
[ "$(jq -r '.request_id // empty' "$L" | sort -u | wc -l)" -eq 31 ] && ok || bad "request ids not unique"
[ "$(jq -s '[.[7:][] | .status] | group_by(.) | map({(.[0] | tostring): length}) | add | tostring' "$L")" = '"{\"200\":12,\"400\":6,\"401\":6}"' ] &&
  ok || bad "concurrent statuses: $(jq -s -c '[.[7:][] | .status]' "$L")"

# ---- another writer's line while the server runs: the server continues after it
expect_status 0 "$OWL" audit append "$L" '{"note":"by hand"}'
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once","max_tokens":2}' "$U/v1/completions"
expect_status 0 "$OWL" audit verify "$L" --json
jq -e '.intact and .lines == 33' "$tmp/out" >/dev/null && ok || bad "after another writer: $(cat "$tmp/out")"

# ---- a restart on the same log continues its chain
stop
start "$L" --timeout 1
want 401 "$U/v1/models"
want 200 "${B[@]}" -d '{"model":"s","prompt":"Once","max_tokens":2}' "$U/v1/completions"
# a URL that is not UTF-8, and a body that never comes: still one line each
want 404 "${B[@]}" "$U/v1/mo%ffdels"
hp=${U#http://}
exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}"
printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model"' >&3
timeout 8 cat <&3 >/dev/null
exec 3<&- 3>&-
expect_status 0 "$OWL" audit verify "$L" --json
jq -e '.intact and .lines == 37' "$tmp/out" >/dev/null && ok || bad "after restart: $(cat "$tmp/out")"
[ "$(jq -r '.request_id // empty' "$L" | sort -u | wc -l)" -eq 36 ] && ok || bad "request ids repeat after a restart"
jq -e '.status == 404 and .route == "/v1/mo?dels" and .key_id == "bob"' <<<"$(line 36 "$L")" >/dev/null && ok || bad "non-UTF-8 URL: $(line 36 "$L")"
jq -e '.status == 0 and (.error | test("no response")) and .duration_ms >= 900' <<<"$(line 37 "$L")" >/dev/null && ok || bad "no response: $(line 37 "$L")"
stop
t_end=$(( $(date +%s) + 1 ))

# ---- tampering with the server's log is named by line
audit_bad() { # what want_line file
  expect_status 1 "$OWL" audit verify "$3"
  grep -q "line $2:" "$tmp/err" && ok || bad "audit $1: $(cat "$tmp/err")"
}
sed '2s/"status":401/"status":200/' "$L" > "$tmp/edit.jsonl"; audit_bad edit 3 "$tmp/edit.jsonl"
sed '4d' "$L" > "$tmp/del.jsonl"; audit_bad delete 4 "$tmp/del.jsonl"
sed '5p' "$L" > "$tmp/ins.jsonl"; audit_bad "insert duplicate" 6 "$tmp/ins.jsonl"
{ sed -n 1,9p "$L"; jq -c '.status = 200 | .seq = 10' <<<"$(line 10 "$L")"; sed -n '10,$p' "$L"; } > "$tmp/ins2.jsonl"
audit_bad "insert forged" 11 "$tmp/ins2.jsonl"
{ sed -n 1,2p "$L"; line 4 "$L"; line 3 "$L"; sed -n '5,$p' "$L"; } > "$tmp/swap.jsonl"; audit_bad reorder 3 "$tmp/swap.jsonl"

# ---- owl audit query: the chain first, then the filters
q() { # expected-count query-args...: --json output has that many lines
  local n=$1; shift
  "$OWL" audit query "$L" --json "$@" >"$tmp/q" 2>"$tmp/qerr"; local rc=$?
  [ "$rc" -eq 0 ] && [ "$(wc -l < "$tmp/q")" -eq "$n" ] && ok || bad "query $* :: rc $rc, $(wc -l < "$tmp/q") lines (want $n) $(head -c 200 "$tmp/qerr")"
}
count() { jq -s "[.[] | select($1)] | length" "$L"; }
q 37
q "$(count '.model == "s"')" --model s
jq -e -s 'length > 10 and all(.model == "s")' "$tmp/q" >/dev/null && ok || bad "--model s: $(head -c 300 "$tmp/q")"
q 1 --model nope
q "$(count '.model_digest == "'"$D"'"')" --model "$D"
q "$(count '.key_id == "bob"')" --key bob
jq -e -s 'length > 5 and all(.key_id == "bob")' "$tmp/q" >/dev/null && ok || bad "--key bob"
q 0 --key carol
q 8 --status 401
q "$(count '.status >= 400 and .status < 500')" --status 4xx
q "$(count '.status == 200 and .key_id == "alice" and .model == "s"')" --status 200 --key alice --model s
q 36 --since "$t_start" --until "$t_end"
q 0 --since "$t_end"
q 0 --until "$((t_start - 1))"
q 36 --since 2000-01-01T00:00+02:00
t1=$(jq -r .time <<<"$(line 1 "$L")")
q 1 --until "$t1"
t7=$(jq -r .time <<<"$(line 7 "$L")")
q "$(jq -s --arg t "$t7" '[.[] | select(.time != null and .time >= $t)] | length' "$L")" --since "$t7"
expect_status 0 "$OWL" audit query "$L" --key alice --status 200
head -1 "$tmp/out" | grep -q '^SEQ  *TIME  *STATUS  *KEY  *MODEL' && grep -q "^1 .* 200  *alice  *s  */v1/completions  *5+5 .* $rid1\$" "$tmp/out" &&
  tail -1 "$tmp/out" | grep -q "^$(count '.status == 200 and .key_id == "alice"') of 37 events\$" && ok || bad "query table: $(cat "$tmp/out")"
expect_status 1 "$OWL" audit query "$tmp/del.jsonl" --key bob
grep -q 'line 4:' "$tmp/err" && grep -q 'refusing' "$tmp/err" && [ ! -s "$tmp/out" ] && ok || bad "query on a broken chain: $(cat "$tmp/err")"
expect_status 0 "$OWL" audit query "$tmp/del.jsonl" --no-verify --json --status 401
[ "$(wc -l < "$tmp/out")" -ge 1 ] && ok || bad "--no-verify"
expect_status 2 "$OWL" audit query "$L" --since yesterday
expect_status 2 "$OWL" audit query "$L" --until 2025-02-30
expect_status 2 "$OWL" audit query "$L" --status 42
expect_status 2 "$OWL" audit query "$L" --model
expect_status 2 "$OWL" audit query
expect_status 3 "$OWL" audit query "$tmp/missing.jsonl"

# ---- --audit-content: the prompt and the answer, as sent and as given
C=$tmp/content.jsonl
start "$C" --audit-content
want 200 "${A[@]}" -d '{"model":"s","prompt":"Once upon a time","max_tokens":6,"temperature":0}' "$U/v1/completions"
text=$(jq -r '.choices[0].text' "$tmp/body")
want 200 "${A[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hello there"}],"max_tokens":5,"seed":2}' "$U/v1/chat/completions"
answer=$(jq -r '.choices[0].message.content' "$tmp/body")
want 200 "${A[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hello again"}],"max_tokens":5,"seed":2,"stream":true}' "$U/v1/chat/completions"
streamed=$(sed -n 's/^data: \({.*\)/\1/p' "$tmp/body" | jq -rj '.choices[0].delta.content // empty')
stop
jq -e --arg t "$text" '.prompt == "Once upon a time" and .completion == $t' <<<"$(line 1 "$C")" >/dev/null && ok || bad "content, completion: $(line 1 "$C")"
jq -e --arg t "$answer" '.messages == [{"role":"user","content":"hello there"}] and .completion == $t' <<<"$(line 2 "$C")" >/dev/null &&
  ok || bad "content, chat: $(line 2 "$C")"
jq -e --arg t "$streamed" '.messages[0].content == "hello again" and .completion == $t and ($t | length) > 0' <<<"$(line 3 "$C")" >/dev/null &&
  ok || bad "content, stream: '$streamed' :: $(line 3 "$C")"
expect_status 0 "$OWL" audit verify "$C"

# ---- a log that cannot be written: requests fail with 500 rather than go unrecorded
if [ -w /dev/full ]; then
  start /dev/full
  want 500 "${A[@]}" -d '{"model":"s","prompt":"Once","max_tokens":2}' "$U/v1/completions"
  jq -e '.error.type == "server_error" and (.error.message | test("audit log"))' "$tmp/body" >/dev/null && ok || bad "500 body: $(cat "$tmp/body")"
  want 500 -d '{}' "$U/v1/completions"
  want 200 "${A[@]}" -d '{"model":"s","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true}' "$U/v1/chat/completions"
  grep -q 'audit log cannot be written' "$tmp/body" && ! grep -q '\[DONE\]' "$tmp/body" && ok || bad "stream with an unwritable log: $(tail -c 300 "$tmp/body")"
  want 200 "$U/health"
  grep -q 'audit log cannot be written' "$tmp/serve.err" && ok || bad "server says why: $(cat "$tmp/serve.err")"
  stop
fi
# a torn or foreign log is refused at start, before anything listens
{ cat "$L"; printf '{"seq":36'; } > "$tmp/torn.jsonl"
expect_status 1 "$OWL" serve --model "s=$M" --port 0 --audit-log "$tmp/torn.jsonl"
grep -q 'not terminated' "$tmp/err" && ok || bad "torn log at start: $(cat "$tmp/err")"
echo 'hello' > "$tmp/foreign.log"
expect_status 1 "$OWL" serve --model "s=$M" --port 0 --audit-log "$tmp/foreign.log"
grep -q 'not an owl audit log' "$tmp/err" && ok || bad "foreign log at start: $(cat "$tmp/err")"
expect_status 3 "$OWL" serve --model "s=$M" --port 0 --audit-log "$tmp/no/such/dir/log"
finish audit
