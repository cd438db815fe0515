#!/usr/bin/env bash
# `owl finetune` as a user meets it, on stories260K: stories whose hero is
# always Zog. 200 steps must cut the held-out loss clearly and make greedy
# text name Zog (through the PEFT and the GGUF adapter); merged and unmerged
# adapters give the same logits; a Q8_0 base trains; the same run on 1 and 2
# threads gives byte-identical adapters; a run killed with SIGKILL and
# resumed gives the uninterrupted run's adapter byte for byte; bad records
# are named by line. Under ASan the runs are shorter (the mechanics, not the
# learning, are what that build checks).
source "$(dirname "$0")/../cli_common.bash"
build=${OWL_BUILD:-build}
case "$build" in *asan*) STEPS=8; KSTEPS=12; SEQ=24 ;; *) STEPS=200; KSTEPS=40; SEQ=64 ;; esac

expect_status 0 "$OWL" finetune --help
grep -q -- "--resume" "$tmp/out" && grep -q -- "all-linear" "$tmp/out" && ok || bad "finetune --help"
"$OWL" --help | grep -q " finetune " && ok || bad "owl --help lists finetune"
expect_status 2 "$OWL" finetune "$M" --out "$tmp/x"
expect_status 2 "$OWL" finetune "$M" --data x.jsonl --out "$tmp/x" --target qq
expect_status 2 "$OWL" finetune "$M" --data x.jsonl --out "$tmp/x" --lr fast

# the data: train on four heroes' stories, hold out the fifth kind
for who in girl boy cat dog bird; do
  for obj in ball toy kite book cake; do
    for place in park garden house forest; do
      line="{\"text\": \"Once upon a time, there was a little $who named Zog. Zog loved to play in the $place. One day, Zog found a big $obj. Zog was very happy.\"}"
      if [ $who = bird ]; then echo "$line" >> "$tmp/eval.jsonl"; else echo "$line" >> "$tmp/train.jsonl"; fi
    done
  done
done

# bad records stop the run and name their line
{ head -3 "$tmp/train.jsonl"; echo '{"text": 42}'; } > "$tmp/bad.jsonl"
expect_status 1 "$OWL" finetune "$M" --data "$tmp/bad.jsonl" --out "$tmp/bad" --steps 2
grep -q "bad.jsonl:4:" "$tmp/err" && ok || bad "bad record named by line: $(cat "$tmp/err")"
printf '{"text": "a"}\n{"text": "b"\n' > "$tmp/bad2.jsonl"
expect_status 1 "$OWL" finetune "$M" --data "$tmp/bad2.jsonl" --out "$tmp/bad" --steps 2
grep -q "bad2.jsonl:2: invalid JSON" "$tmp/err" && ok || bad "invalid JSON named by line: $(cat "$tmp/err")"

TRAIN=(--data "$tmp/train.jsonl" --eval "$tmp/eval.jsonl" --target all-linear --rank 8 --alpha 16 --lr 1e-2
       --batch 2 --seq-len $SEQ --seed 7 --json)

# 1. learning: the held-out loss falls clearly; greedy text names Zog (one thread: a
# tiny model gains nothing from two, and a loaded machine makes them wait on each other)
expect_status 0 "$OWL" finetune "$M" "${TRAIN[@]}" --steps $STEPS --threads 1 --out "$tmp/zog"
res=$(cat "$tmp/out"); echo "finetune: $res"
first=$(jq -r .first_eval_loss <<<"$res"); last=$(jq -r .last_eval_loss <<<"$res")
[ "$(jq -r .steps <<<"$res")" = "$STEPS" ] && ok || bad "steps: $res"
if [ $STEPS -ge 200 ]; then
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a / 2) }' && ok || bad "eval loss $first -> $last is not cut in half"
  prompt="Once upon a time, there was a little girl named"
  base=$("$OWL" run "$M" -p "$prompt" --temp 0 -n 4)
  peft=$("$OWL" run "$M" --lora "$tmp/zog" -p "$prompt" --temp 0 -n 4)
  gguf=$("$OWL" run "$M" --lora "$tmp/zog/adapter.gguf" -p "$prompt" --temp 0 -n 4)
  echo "greedy after '$prompt': base '$base', PEFT adapter '$peft', GGUF adapter '$gguf'"
  [[ $base != *Zog* && $peft == Zog* && $gguf == Zog* ]] && ok || bad "greedy: base '$base' peft '$peft' gguf '$gguf'"
fi
for f in adapter_config.json adapter_model.safetensors adapter.gguf run.json loss.svg checkpoint.bin; do
  [ -s "$tmp/zog/$f" ] && ok || bad "output $f missing"
done
grep -q "<svg" "$tmp/zog/loss.svg" && grep -q "polyline" "$tmp/zog/loss.svg" && ok || bad "loss.svg is no SVG curve"
run="$tmp/zog/run.json"
want_digest=$(sha256sum "$M" | cut -d' ' -f1)
[ "$(jq -r '.base.files[0].sha256' "$run")" = "$want_digest" ] && ok || bad "run.json base file digest"
[ "$(jq -r '.data.train.sha256' "$run")" = "$(sha256sum "$tmp/train.jsonl" | cut -d' ' -f1)" ] && ok || bad "run.json data digest"
[ "$(jq '.history.train_loss | length' "$run")" = "$STEPS" ] && [ "$(jq -r '.hyperparameters.rank' "$run")" = 8 ] &&
  [ "$(jq -r '.seed' "$run")" = 7 ] && [ "$(jq -r '.owl_version' "$run")" != null ] && ok || bad "run.json fields"
[ "$(jq -r '.r' "$tmp/zog/adapter_config.json")" = 8 ] && [ "$(jq -r '.peft_type' "$tmp/zog/adapter_config.json")" = LORA ] &&
  [ "$(jq -r '.target_modules | length' "$tmp/zog/adapter_config.json")" = 7 ] && ok || bad "adapter_config.json"

# 2. merged = unmerged: logits of a prompt through both
ids=1,403,407,261,378,410,297,429
expect_status 0 "$OWL" merge "$M" "$tmp/zog" --out "$tmp/merged.gguf"
"$OWL" logits "$tmp/merged.gguf" --ids $ids --kv f32 --out "$tmp/merged.f32" >/dev/null &&
"$OWL" logits "$M" --lora "$tmp/zog" --ids $ids --kv f32 --out "$tmp/unmerged.f32" >/dev/null && ok || bad "logits runs"
diff=$(node -e '
const fs = require("fs");
const a = new Float32Array(fs.readFileSync(process.argv[1]).buffer.slice(0));
const b = new Float32Array(fs.readFileSync(process.argv[2]).buffer.slice(0));
let m = a.length === b.length && a.length > 0 ? 0 : Infinity;
for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
console.log(m);' "$tmp/merged.f32" "$tmp/unmerged.f32")
echo "merged vs unmerged adapter: max |logit difference| $diff (tolerance 1e-3)"
awk -v d="$diff" 'BEGIN { exit !(d < 1e-3) }' && ok || bad "merged vs unmerged logits differ by $diff"

# 3. QLoRA: a Q8_0 base (the base quantized by a merge at scale 0) trains too
expect_status 0 "$OWL" merge "$M" "$tmp/zog:0" --type Q8_0 --out "$tmp/base_q8.gguf"
"$OWL" inspect "$tmp/base_q8.gguf" | grep -q "Q8_0" && ok || bad "the Q8_0 base has Q8_0 tensors"
expect_status 0 "$OWL" finetune "$tmp/base_q8.gguf" "${TRAIN[@]}" --steps $KSTEPS --threads 1 --out "$tmp/zog_q8"
q8=$(cat "$tmp/out"); echo "finetune on Q8_0: $q8"
awk -v a="$(jq -r .first_eval_loss <<<"$q8")" -v b="$(jq -r .last_eval_loss <<<"$q8")" 'BEGIN { exit !(b < a) }' &&
  ok || bad "Q8_0 base: eval loss did not fall: $q8"

# 4. the thread count changes nothing
expect_status 0 "$OWL" finetune "$M" "${TRAIN[@]}" --steps 6 --dropout 0.1 --threads 1 --out "$tmp/t1"
expect_status 0 "$OWL" finetune "$M" "${TRAIN[@]}" --steps 6 --dropout 0.1 --threads 2 --out "$tmp/t2"
cmp -s "$tmp/t1/adapter_model.safetensors" "$tmp/t2/adapter_model.safetensors" &&
  cmp -s "$tmp/t1/adapter.gguf" "$tmp/t2/adapter.gguf" && ok || bad "1 and 2 threads give different adapters"

# 5. SIGKILL mid-run, then --resume: byte-identical to the run left alone
K=(--steps $KSTEPS --checkpoint-every 4 --dropout 0.05 --threads 1)
expect_status 0 "$OWL" finetune "$M" "${TRAIN[@]}" "${K[@]}" --out "$tmp/whole"
"$OWL" finetune "$M" "${TRAIN[@]}" "${K[@]}" --out "$tmp/cut" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/cut/checkpoint.bin" ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ -s "$tmp/cut/checkpoint.bin" ] && [ ! -e "$tmp/cut/run.json" ] && ok || bad "the run was not cut mid-way"
expect_status 0 "$OWL" finetune "$M" "${TRAIN[@]}" "${K[@]}" --out "$tmp/cut" --resume
from=$(jq -r .resumed_from "$tmp/out")
echo "killed, resumed from step $from of $KSTEPS"
[ "$from" -gt 0 ] && [ "$from" -lt $KSTEPS ] && ok || bad "resumed from $from"
cmp -s "$tmp/whole/adapter_model.safetensors" "$tmp/cut/adapter_model.safetensors" &&
  cmp -s "$tmp/whole/adapter.gguf" "$tmp/cut/adapter.gguf" && ok || bad "resumed adapter differs from the uninterrupted one"
# resuming with other settings is refused; a damaged checkpoint too
expect_status 2 "$OWL" finetune "$M" "${TRAIN[@]}" "${K[@]}" --lr 2e-2 --out "$tmp/cut" --resume
grep -q "different" "$tmp/err" && ok || bad "resume with other settings: $(cat "$tmp/err")"
printf 'x' | dd of="$tmp/cut/checkpoint.bin" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_status 1 "$OWL" finetune "$M" "${TRAIN[@]}" "${K[@]}" --out "$tmp/cut" --resume
grep -q "damaged" "$tmp/err" && ok || bad "damaged checkpoint: $(cat "$tmp/err")"

# 6. chat records: only the answers are learned (the template given by file)
cat > "$tmp/chat.jinja" <<'EOF'
{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}
{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}
EOF
for i in 1 2 3 4 5 6; do
  echo "{\"messages\": [{\"role\": \"user\", \"content\": \"Who is the hero of story $i?\"}, {\"role\": \"assistant\", \"content\": \"Zog is the hero.\"}]}"
done > "$tmp/chat.jsonl"
expect_status 0 "$OWL" finetune "$M" --data "$tmp/chat.jsonl" --chat-template "$tmp/chat.jinja" --steps 3 --eval-split 0.2 --out "$tmp/chat" --json
[ "$(jq -r .eval_records "$tmp/out")" = 1 ] && [ "$(jq -r .train_records "$tmp/out")" = 5 ] && ok || bad "chat split: $(cat "$tmp/out")"
# a chat record on a model with no template, no --chat-template: a clear error
expect_status 1 "$OWL" finetune "$M" --data "$tmp/chat.jsonl" --steps 1 --out "$tmp/chat2"
grep -qi "template" "$tmp/err" && grep -q "chat.jsonl:1:" "$tmp/err" && ok || bad "no template: $(cat "$tmp/err")"

finish finetune
