#!/usr/bin/env bash
# trust.sh: `owl license` and `owl license check` over copies of stories260K's
# Hugging Face directory with model cards and LICENSE files written here:
# detection, conflicts, exit codes 0 allowed / 1 denied / 2 unknown.
source "$(dirname "$0")/../cli_common.bash"

mkcard() { # dir front-matter-lines...
  local d=$tmp/$1; shift
  mkdir -p "$d" && cp "$S/models/stories260K/hf/"* "$d/"
  { echo '---'; printf '%s\n' "$@"; echo '---'; echo '# a model'; } > "$d/README.md"
}
mkcard apache 'license: apache-2.0'
mkcard llama3 'license: llama3'
mkcard nc 'license: cc-by-nc-4.0'
mkcard gemma 'license: gemma'
mkcard qwen 'license: other' 'license_name: qwen' 'license_link: https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE'
mkcard none 'tags: [x]'
mkcard conflict 'license: mit'
printf '                                 Apache License\n                           Version 2.0, January 2004\n' > "$tmp/conflict/LICENSE"
mkdir -p "$tmp/textonly" && cp "$S/models/stories260K/hf/"* "$tmp/textonly/"
printf 'LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n' > "$tmp/textonly/LICENSE"

expect_status 0 "$OWL" license --help
grep -q 'owl license check' "$tmp/out" && ok || bad "license --help"
expect_status 0 "$OWL" license "$M"
grep -q 'general.license = "mit"' "$tmp/out" && ok || bad "gguf evidence: $(cat "$tmp/out")"
expect_status 0 "$OWL" license "$tmp/qwen" --json
jq -e '.license == "Qwen" and .conflict == false and (.evidence | length) == 2 and .terms.mau_limit == 100000000' "$tmp/out" >/dev/null && ok || bad "qwen json: $(cat "$tmp/out")"
expect_status 0 "$OWL" license "$tmp/conflict" --json
jq -e '.conflict == true and ([.evidence[].license] | sort) == ["Apache-2.0", "MIT"]' "$tmp/out" >/dev/null && ok || bad "conflict: $(cat "$tmp/out")"
expect_status 0 "$OWL" license "$tmp/conflict"
grep -q CONFLICT "$tmp/out" && ok || bad "conflict shown"
expect_status 0 "$OWL" license "$tmp/textonly" --json
jq -e '.license == "Llama-3.1" and .evidence[0].field == "LICENSE text"' "$tmp/out" >/dev/null && ok || bad "text: $(cat "$tmp/out")"

# decisions and exit codes
expect_status 0 "$OWL" license check "$tmp/apache" --use commercial --users 5000000000 --derivative --distribute
expect_status 1 "$OWL" license check "$tmp/llama3" --use commercial --users 800000000
grep -q '700000000 monthly active users' "$tmp/out" && ok || bad "llama3 reason: $(cat "$tmp/out")"
expect_status 0 "$OWL" license check "$tmp/llama3" --use commercial --users 1000 --derivative
grep -q '"Llama 3"' "$tmp/out" && ok || bad "llama3 naming duty"
expect_status 1 "$OWL" license check "$tmp/nc" --use commercial
expect_status 0 "$OWL" license check "$tmp/nc" --use research
expect_status 0 "$OWL" license check "$tmp/gemma" --use commercial --distribute --json
jq -e '.decision == "allowed" and (.duties | test("Gemma Terms of Use"))' "$tmp/out" >/dev/null && ok || bad "gemma duties: $(cat "$tmp/out")"
expect_status 2 "$OWL" license check "$tmp/none" --use research
expect_status 1 "$OWL" license check "$tmp/nc" --use internal --json
jq -e '.decision == "denied"' "$tmp/out" >/dev/null && ok || bad "denied json"
# usage errors
expect_status 2 "$OWL" license check "$tmp/apache"
expect_status 2 "$OWL" license check "$tmp/apache" --use sometimes
expect_status 2 "$OWL" license check "$tmp/apache" --use research --users -5
expect_status 2 "$OWL" license
expect_status 3 "$OWL" license "$tmp/missing-model"

# openness after the OSI Open Source AI Definition, shown by owl inspect
mkcard osai 'license: apache-2.0' 'datasets:' '- roneneldan/TinyStories'
echo 'Trained with https://github.com/karpathy/llama2.c' >> "$tmp/osai/README.md"
mkcard nodata 'license: apache-2.0'
for c in osai:open-source-ai nodata:open-weight llama3:open-weight nc:restricted-weights none:unknown; do
  expect_status 0 "$OWL" inspect "${tmp}/${c%%:*}" --json
  jq -e --arg want "${c#*:}" '.openness.class == $want' "$tmp/out" >/dev/null && ok || bad "openness ${c}: $(jq -c .openness "$tmp/out")"
done
expect_status 0 "$OWL" inspect "$tmp/osai"
grep -q 'openness      open-source-ai (weights licence Apache-2.0 (open terms); 1 dataset(s) declared (first: roneneldan/TinyStories); code repository linked' "$tmp/out" && ok || bad "inspect openness line: $(grep openness "$tmp/out")"

# an organisation's policy, enforced by owl run, with acceptance records
export OWL_ACCEPT_DIR=$tmp/accepted
echo '{"use": "commercial", "monthly_users": 1000}' > "$tmp/policy.json"
expect_status 0 "$OWL" run "$tmp/apache" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json"
expect_status 1 "$OWL" run "$tmp/nc" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json"
grep -q 'refuses this model for commercial use: CC-BY-NC-4.0 does not allow commercial use' "$tmp/err" && ok || bad "nc refusal: $(cat "$tmp/err")"
expect_status 1 "$OWL" run "$tmp/none" -p "Once" -n 2 --policy "$tmp/policy.json"
grep -q 'licence is unknown' "$tmp/err" && ok || bad "unknown refusal: $(cat "$tmp/err")"
expect_status 1 "$OWL" run "$tmp/conflict" -p "Once" -n 2 --policy "$tmp/policy.json"
grep -q 'different licences' "$tmp/err" && ok || bad "conflict refusal: $(cat "$tmp/err")"
# Llama 3 needs its terms accepted: refused, then accepted, then allowed
expect_status 1 "$OWL" run "$tmp/llama3" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json"
grep -q 'owl license accept MODEL' "$tmp/err" && ok || bad "acceptance refusal: $(cat "$tmp/err")"
expect_status 0 "$OWL" license accept "$tmp/llama3"
expect_status 0 "$OWL" run "$tmp/llama3" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json"
OWL_POLICY=$tmp/policy.json expect_status 1 "$OWL" run "$tmp/gemma" -p "Once" -n 2 --seed 1
expect_status 0 "$OWL" run "$tmp/gemma" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json" --accept-license
expect_status 0 "$OWL" run "$tmp/gemma" -p "Once" -n 2 --seed 1 --policy "$tmp/policy.json"
# a service above Llama's threshold, an allow-list, and malformed policies
echo '{"use": "commercial", "monthly_users": 800000000}' > "$tmp/big.json"
expect_status 1 "$OWL" run "$tmp/llama3" -p "Once" -n 2 --policy "$tmp/big.json"
grep -q 'monthly active users' "$tmp/err" && ok || bad "mau refusal: $(cat "$tmp/err")"
echo '{"use": "research", "allowed_licenses": ["Apache-2.0", "MIT"]}' > "$tmp/allow.json"
expect_status 1 "$OWL" run "$tmp/gemma" -p "Once" -n 2 --policy "$tmp/allow.json"
grep -q 'not among the allowed licences' "$tmp/err" && ok || bad "allow-list: $(cat "$tmp/err")"
# owl finetune enforces the same policy, before any work (an HF-directory base)
for i in 1 2 3; do echo '{"text": "Once upon a time there was a cat named Zog."}'; done > "$tmp/ft.jsonl"
expect_status 1 "$OWL" finetune "$tmp/nc" --data "$tmp/ft.jsonl" --out "$tmp/ftnc" --steps 1 --policy "$tmp/policy.json"
grep -q 'refuses this model for commercial use' "$tmp/err" && [ ! -e "$tmp/ftnc" ] && ok || bad "finetune policy refusal: $(cat "$tmp/err")"
expect_status 0 "$OWL" finetune "$tmp/apache" --data "$tmp/ft.jsonl" --out "$tmp/ftok" --steps 2 --eval-split 0 --policy "$tmp/policy.json"
[ -s "$tmp/ftok/adapter_model.safetensors" ] && ok || bad "finetune allowed by the policy"
echo '{"use": "sometimes"}' > "$tmp/bad1.json"
expect_status 1 "$OWL" run "$tmp/apache" -p "Once" -n 2 --policy "$tmp/bad1.json"
grep -q 'bad1.json: field "use"' "$tmp/err" && ok || bad "bad policy: $(cat "$tmp/err")"
echo '{"allowed_licenses": ["Nonsense-1"]}' > "$tmp/bad2.json"
expect_status 1 "$OWL" run "$tmp/apache" -p "Once" -n 2 --policy "$tmp/bad2.json"
echo '{"use": ' > "$tmp/bad3.json"
expect_status 1 "$OWL" run "$tmp/apache" -p "Once" -n 2 --policy "$tmp/bad3.json"
grep -q 'bad3.json: line' "$tmp/err" && ok || bad "bad json: $(cat "$tmp/err")"
expect_status 3 "$OWL" run "$tmp/apache" -p "Once" -n 2 --policy "$tmp/missing.json"
# owl serve checks the same policy before it listens: a denied model, no server, the reason said
expect_status 1 "$OWL" serve --model nc="$tmp/nc" --port 0 --policy "$tmp/policy.json"
grep -q 'CC-BY-NC-4.0 does not allow commercial use' "$tmp/err" && grep -q "model 'nc'" "$tmp/err" && ok ||
  bad "serve policy refusal: $(cat "$tmp/err")"
OWL_POLICY=$tmp/big.json expect_status 1 "$OWL" serve --model ok="$tmp/apache" --model l3="$tmp/llama3" --port 0
grep -q 'monthly active users' "$tmp/err" && ok || bad "serve mau refusal: $(cat "$tmp/err")"
# an allowed model starts (then is stopped)
"$OWL" serve --model ok="$tmp/apache" --port 0 --policy "$tmp/policy.json" 2>"$tmp/serve.err" &
spid=$!
for _ in $(seq 50); do grep -q listening "$tmp/serve.err" && break; sleep 0.1; done
grep -q listening "$tmp/serve.err" && ok || bad "serve with an allowed model did not start: $(cat "$tmp/serve.err")"
kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null

# provenance: manifest, keygen, sign, verify, run --require-signed
mkdir -p "$tmp/prov" && cp "$M" "$tmp/prov/m.gguf" && chmod u+w "$tmp/prov/m.gguf"
G=$tmp/prov/m.gguf
for v in manifest keygen sign verify; do expect_status 0 "$OWL" $v --help; done
expect_status 0 "$OWL" manifest "$G"
cp "$tmp/out" "$tmp/prov/M.json"
jq -e '.family == "llama" and .license == "MIT" and (.files | length) == 1 and (.tensor_data_sha256 | length) == 64 and (.tokenizer_sha256 | length) == 64 and .parameters > 0' "$tmp/prov/M.json" >/dev/null && ok || bad "manifest fields: $(head -c 300 "$tmp/prov/M.json")"
[ "$(jq -cS . "$tmp/prov/M.json")" = "$(cat "$tmp/prov/M.json")" ] && ok || bad "manifest is not canonical JSON"
expect_status 0 "$OWL" manifest "$G"
cmp -s "$tmp/out" "$tmp/prov/M.json" && ok || bad "manifest not stable"
expect_status 0 "$OWL" keygen --out "$tmp/prov/k"
expect_status 0 "$OWL" keygen --out "$tmp/prov/other" --json
expect_status 0 "$OWL" verify "$G" "$tmp/prov/M.json"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/M.json" --pubkey "$tmp/prov/k.pub"
grep -q 'not signed' "$tmp/err" && ok || bad "unsigned: $(cat "$tmp/err")"
expect_status 0 "$OWL" sign "$tmp/prov/M.json" --key "$tmp/prov/k"
expect_status 0 "$OWL" verify "$G" "$tmp/prov/M.json" --pubkey "$tmp/prov/k.pub" --json
jq -e '.verified and .signed' "$tmp/out" >/dev/null && ok || bad "verify json"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/M.json" --pubkey "$tmp/prov/other.pub"
grep -q 'signature does not verify' "$tmp/err" && ok || bad "wrong key: $(cat "$tmp/err")"
# a tampered signature, a tampered field under a valid-looking signature, a key of the wrong kind
jq -c '.signature.value |= (if .[0:1] == "0" then "1" else "0" end) + .[1:]' "$tmp/prov/M.json" > "$tmp/prov/badsig.json"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/badsig.json" --pubkey "$tmp/prov/k.pub"
jq -c '.license = "Apache-2.0"' "$tmp/prov/M.json" > "$tmp/prov/badfield.json"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/badfield.json" --pubkey "$tmp/prov/k.pub"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/M.json" --pubkey "$tmp/prov/M.json"
grep -q 'expected a PEM Ed25519 public key' "$tmp/err" && ok || bad "bad key file: $(cat "$tmp/err")"
expect_status 1 "$OWL" sign "$tmp/prov/M.json" --key "$tmp/prov/k.pub"
expect_status 0 "$OWL" run "$G" -p "Once" -n 2 --seed 1 --require-signed "$tmp/prov/k.pub" --manifest "$tmp/prov/M.json"
expect_status 2 "$OWL" run "$G" -p "Once" -n 2 --require-signed "$tmp/prov/k.pub"
# owl serve --require-signed: a matching signed model starts; without a manifest it is a usage error
"$OWL" serve --model m="$G" --manifest "$tmp/prov/M.json" --require-signed "$tmp/prov/k.pub" --port 0 2>"$tmp/serve.err" &
spid=$!
for _ in $(seq 50); do grep -q listening "$tmp/serve.err" && break; sleep 0.1; done
grep -q listening "$tmp/serve.err" && ok || bad "serve with a signed model did not start: $(cat "$tmp/serve.err")"
kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null
expect_status 2 "$OWL" serve --model m="$G" --require-signed "$tmp/prov/k.pub" --port 0
expect_status 1 "$OWL" serve --model m="$G" --manifest "$tmp/prov/M.json" --require-signed "$tmp/prov/other.pub" --port 0
grep -q 'signature does not verify' "$tmp/err" && ok || bad "serve wrong key: $(cat "$tmp/err")"
# one flipped byte in the weights: verify and run --require-signed refuse
off=$(( $(stat -c %s "$G") - 100 ))
printf '\x5a' | dd of="$G" bs=1 seek=$off conv=notrunc 2>/dev/null
expect_status 1 "$OWL" verify "$G" "$tmp/prov/M.json" --pubkey "$tmp/prov/k.pub"
grep -q 'file m.gguf: sha256' "$tmp/err" && ok || bad "flipped byte: $(cat "$tmp/err")"
expect_status 1 "$OWL" run "$G" -p "Once" -n 2 --require-signed "$tmp/prov/k.pub" --manifest "$tmp/prov/M.json"
grep -q 'does not match the manifest' "$tmp/err" && ok || bad "run refusal: $(cat "$tmp/err")"
expect_status 1 "$OWL" serve --model m="$G" --manifest "$tmp/prov/M.json" --require-signed "$tmp/prov/k.pub" --port 0
grep -q "model 'm'" "$tmp/err" && grep -q 'file m.gguf: sha256' "$tmp/err" && ok || bad "serve flipped byte: $(cat "$tmp/err")"
echo '{"files": [' > "$tmp/prov/broken.json"
expect_status 1 "$OWL" verify "$G" "$tmp/prov/broken.json"

# audit trail: owl run --audit-log, owl audit verify over edits, deletions, insertions, reordering
A=$tmp/audit.jsonl
cp "$M" "$tmp/a.gguf"
expect_status 0 "$OWL" audit --help
for i in 1 2 3 4; do expect_status 0 "$OWL" run "$tmp/a.gguf" -p "Once upon" -n 3 --seed $i --audit-log "$A"; done
expect_status 0 "$OWL" run "$tmp/a.gguf" -p "Once upon" -n 3 --seed 5 --audit-log "$A" --audit-content
expect_status 0 "$OWL" audit verify "$A" --json
jq -e '.intact and .lines == 5' "$tmp/out" >/dev/null && ok || bad "audit intact: $(cat "$tmp/out")"
jq -e -s 'length == 5 and .[0].seq == 1 and .[0].prev == ("0" * 64) and (.[0].model_manifest_sha256 | length) == 64 and .[0].n_output == 3 and (.[0] | has("prompt") | not) and .[4].prompt == "Once upon"' "$A" >/dev/null && ok || bad "audit fields: $(head -1 "$A")"
! grep -q 'Once upon' <(head -4 "$A") && ok || bad "text recorded without --audit-content"
expect_status 0 "$OWL" manifest "$tmp/a.gguf"; cp "$tmp/out" "$tmp/a.json"
expect_status 0 "$OWL" run "$tmp/a.gguf" -p "Once" -n 2 --audit-log "$tmp/a2.jsonl" --manifest "$tmp/a.json"
[ "$(jq -r .model_manifest_sha256 "$tmp/a2.jsonl")" = "$(sha256sum "$tmp/a.json" | cut -c1-64)" ] && ok || bad "manifest digest"
audit_bad() { # what want_line file
  expect_status 1 "$OWL" audit verify "$3" --json
  jq -e --argjson n "$2" '.intact == false and .first_bad_line == $n' "$tmp/out" >/dev/null && ok || bad "audit $1: $(cat "$tmp/out")"
}
sed '3s/"n_output":3/"n_output":4/' "$A" > "$tmp/edit.jsonl"; audit_bad edit 4 "$tmp/edit.jsonl"
sed '1s/"n_output":3/"n_output":9/' "$A" > "$tmp/edit1.jsonl"; audit_bad "edit first" 2 "$tmp/edit1.jsonl"
sed '2d' "$A" > "$tmp/del.jsonl"; audit_bad delete 2 "$tmp/del.jsonl"
sed '3p' "$A" > "$tmp/ins.jsonl"; audit_bad "insert duplicate" 4 "$tmp/ins.jsonl"
{ sed -n 1,2p "$A"; echo '{"seq":3,"prev":"x"}'; sed -n '3,$p' "$A"; } > "$tmp/ins2.jsonl"; audit_bad "insert forged" 3 "$tmp/ins2.jsonl"
{ sed -n 1p "$A"; sed -n 3p "$A"; sed -n 2p "$A"; sed -n '4,$p' "$A"; } > "$tmp/swap.jsonl"; audit_bad reorder 2 "$tmp/swap.jsonl"
{ cat "$A"; printf '{"seq":6'; } > "$tmp/torn.jsonl"; audit_bad torn 6 "$tmp/torn.jsonl"
expect_status 1 "$OWL" audit append "$tmp/torn.jsonl" '{"x":1}'
grep -q 'not terminated' "$tmp/err" && ok || bad "append to torn: $(cat "$tmp/err")"
expect_status 1 "$OWL" audit verify "$tmp/edit.jsonl"
grep -q 'line 4:' "$tmp/err" && ok || bad "names the line: $(cat "$tmp/err")"
# lines cut from the end: the chain alone cannot tell, the head beside the log can
cp "$A" "$tmp/cut.jsonl"; cp "$A.head" "$tmp/cut.jsonl.head" && ok || bad "the log has a head file"
sed -i '$d' "$tmp/cut.jsonl"; audit_bad "delete last" 5 "$tmp/cut.jsonl"
grep -q 'line 5: missing' <("$OWL" audit verify "$tmp/cut.jsonl" 2>&1) && ok || bad "cut tail named"
expect_status 1 "$OWL" audit append "$tmp/cut.jsonl" '{"x":1}'
grep -q 'cut from its end' "$tmp/err" && ok || bad "append to a cut log: $(cat "$tmp/err")"
audit_bad "delete last, still" 5 "$tmp/cut.jsonl"
expect_status 2 "$OWL" audit append "$A" 'not json'
expect_status 2 "$OWL" audit frobnicate "$A"
# concurrent writers: 8 processes x 25 appends at once make one valid chain of 200 lines
C=$tmp/concurrent.jsonl
for w in 1 2 3 4 5 6 7 8; do
  ( for k in $(seq 1 25); do "$OWL" audit append "$C" "{\"writer\":$w,\"k\":$k,\"pad\":\"$(head -c 3000 /dev/zero | tr '\0' x)\"}" || exit 1; done ) &
done
wait
expect_status 0 "$OWL" audit verify "$C" --json
jq -e '.intact and .lines == 200' "$tmp/out" >/dev/null && ok || bad "concurrent: $(cat "$tmp/out")"
[ "$(jq -s 'map(.writer) | unique | length' "$C")" = 8 ] && ok || bad "concurrent writers lost"
finish trust
