#!/usr/bin/env bash
# tokenizer.json added_tokens with lstrip/rstrip against Hugging Face's
# tokenizer (see tests/js/tokenizer_added_flags.mjs).
set -u
if [ ! -d node_modules/@huggingface/transformers ]; then
  echo "node_modules missing: run scripts/setup.sh (npm ci)" >&2
  echo "tokenizer_added_flags: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/tokenizer_added_flags.mjs
