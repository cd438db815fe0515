#!/usr/bin/env bash
# owl's tokenizers against Hugging Face's (@huggingface/transformers) on a
# generated corpus of 2,000+ strings (see tests/js/tokenizer_reference.mjs).
set -u
if [ ! -d node_modules/@huggingface/transformers ]; then
  echo "node_modules missing: run scripts/setup.sh (npm ci)" >&2
  echo "tokenizer_reference: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/tokenizer_reference.mjs
