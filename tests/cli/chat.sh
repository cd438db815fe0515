#!/usr/bin/env bash
# CLI tests of `owl chat`: piped turns answer exactly what `owl template` +
# `owl run` give for the same conversation (greedy); the conversation carries
# over between turns; and, driven through tmux like a person at a terminal:
# two turns, Ctrl-C during an answer (the answer stops, the chat goes on),
# /reset, /params, Ctrl-D to leave.
source tests/cli_common.bash
T=tests/data/chatml.jinja

# --- piped: turn 1 equals template + run ---------------------------------------
printf 'Once upon a time\nThe cat sat\n' | "$OWL" chat "$M" --template "$T" -n 24 --temp 0 >"$tmp/piped" 2>"$tmp/err"
[ $? -eq 0 ] && ok || bad "piped chat failed: $(head -c 300 "$tmp/err")"
echo '[{"role":"user","content":"Once upon a time"}]' >"$tmp/m1.json"
"$OWL" template --template "$T" --messages "$tmp/m1.json" --add-generation-prompt >"$tmp/p1.txt"
"$OWL" run "$M" -f "$tmp/p1.txt" -n 24 --temp 0 >"$tmp/run1" 2>/dev/null
first=$(cat "$tmp/run1")
[ -n "$first" ] && head -c "$(wc -c <"$tmp/run1")" "$tmp/piped" | cmp -s - "$tmp/run1" && ok || bad "chat turn 1 != run '$first': $(head -c 200 "$tmp/piped")"

# --- piped: turn 2 sees turn 1 (the second prompt holds the first exchange) -----
printf '%s' "$first" | jq -Rs '[{"role":"user","content":"Once upon a time"},{"role":"assistant","content":.},{"role":"user","content":"The cat sat"}]' >"$tmp/m2.json" 2>/dev/null ||
  python3 -c 'import json,sys; print(json.dumps([{"role":"user","content":"Once upon a time"},{"role":"assistant","content":sys.argv[1]},{"role":"user","content":"The cat sat"}]))' "$first" >"$tmp/m2.json"
"$OWL" template --template "$T" --messages "$tmp/m2.json" --add-generation-prompt >"$tmp/p2.txt"
"$OWL" run "$M" -f "$tmp/p2.txt" -n 24 --temp 0 >"$tmp/run2" 2>/dev/null
# owl run ends its output with a newline, as chat ends each answer
{ cat "$tmp/run1" "$tmp/run2"; } | cmp -s - "$tmp/piped" && ok || bad "chat turns != run: $(cat "$tmp/piped") vs $(cat "$tmp/run2")"
# /reset in a pipe: the third answer equals the first again
printf 'Once upon a time\nThe cat sat\n/reset\nOnce upon a time\n' | "$OWL" chat "$M" --template "$T" -n 24 --temp 0 >"$tmp/reset" 2>/dev/null
{ cat "$tmp/run1" "$tmp/run2"; echo "conversation cleared"; cat "$tmp/run1"; } | cmp -s - "$tmp/reset" && ok || bad "/reset: $(cat "$tmp/reset")"
expect_status 1 "$OWL" chat "$M"   # no template: a clear error
grep -q -- "--template" "$tmp/err" && ok || bad "no-template error lacks the fix: $(cat "$tmp/err")"
expect_status 0 "$OWL" chat --help

# --- a terminal, through tmux ---------------------------------------------------
if ! command -v tmux >/dev/null; then bad "tmux missing (scripts/setup.sh installs it)"; finish chat; exit; fi
SY="$tmp/s110.gguf"
"$OWL" synth --shape stories110m --type Q4_0 --out "$SY" >/dev/null 2>&1 || bad "synth failed"
sock="$tmp/tmux.sock"
tm() { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -J -t chat -S -200 | grep -v "^$"; } # -J: wrapped lines joined
wait_for() { # regex, seconds: 0 when the screen matches in time
  local i
  for ((i = 0; i < $2 * 10; i++)); do screen | grep -qE "$1" && return 0; sleep 0.1; done
  return 1
}
prompts() { screen | grep -cE '^>( |$)'; }
wait_prompts() { # n, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do [ "$(prompts)" -ge "$1" ] && return 0; sleep 0.1; done
  return 1
}
tm new-session -d -s chat -x 160 -y 50 \
  "$OWL chat $SY --template $T -n 40 --temp 0 --threads 1 --ctx 1024; echo CHAT-EXITED-\$?; sleep 60"
wait_for 'owl chat with' 20 && ok || bad "tmux: no banner: $(screen | tail -5)"
wait_prompts 1 10 && ok || bad "tmux: no prompt"
tm send-keys -t chat 'Hello there' Enter
wait_prompts 2 30 && ok || bad "tmux: turn 1 did not end: $(screen | tail -5)"
tm send-keys -t chat 'And then' Enter
wait_prompts 3 30 && ok || bad "tmux: turn 2 did not end: $(screen | tail -5)"
# a long answer, stopped with Ctrl-C
tm send-keys -t chat '/params n=600' Enter
wait_for 'n=600' 10 && ok || bad "tmux: /params did not answer: $(screen | tail -5)"
tm send-keys -t chat 'Tell me a long story' Enter
sleep 1.5
tm send-keys -t chat C-c
wait_for '\[stopped\]' 10 && ok || bad "tmux: Ctrl-C did not stop the answer: $(screen | tail -5)"
screen | grep -q 'CHAT-EXITED' && bad "tmux: Ctrl-C ended the chat" || ok
wait_prompts 5 10 && ok || bad "tmux: no prompt after Ctrl-C: $(screen | tail -5)"
tm send-keys -t chat '/reset' Enter
wait_for 'conversation cleared' 10 && ok || bad "tmux: /reset: $(screen | tail -5)"
tm send-keys -t chat '/params n=20' Enter
tm send-keys -t chat 'After the reset' Enter
wait_prompts 8 30 && ok || bad "tmux: a turn after /reset did not end: $(screen | tail -5)"
# multi-line input: a line ending in \ continues, and a """ block; /save shows the turns as sent
tm send-keys -t chat 'one\' Enter
tm send-keys -t chat 'two' Enter
wait_prompts 9 30 && ok || bad "tmux: a continued line did not make one turn: $(screen | tail -5)"
tm send-keys -t chat '"""' Enter 'alpha' Enter 'beta' Enter '"""' Enter
wait_prompts 10 30 && ok || bad "tmux: a block did not make one turn: $(screen | tail -5)"
tm send-keys -t chat "/save $tmp/conv.json" Enter
wait_for 'saved 6 messages' 10 && ok || bad "tmux: /save: $(screen | tail -5)"
[ "$(jq -c '[.messages[] | select(.role == "user") | .content]' "$tmp/conv.json" 2>/dev/null)" = '["After the reset","one\ntwo","alpha\nbeta"]' ] &&
  ok || bad "tmux: multi-line turns saved as $(cat "$tmp/conv.json" 2>/dev/null)"
tm send-keys -t chat C-d
wait_for 'CHAT-EXITED-0' 10 && ok || bad "tmux: Ctrl-D did not leave cleanly: $(screen | tail -5)"
tm kill-server 2>/dev/null
finish chat
