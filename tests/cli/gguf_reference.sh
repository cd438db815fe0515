#!/usr/bin/env bash
# owl's GGUF reading against Hugging Face's @huggingface/gguf (see tests/js/gguf_reference.mjs).
set -u
if [ ! -d node_modules/@huggingface/gguf ]; then
  echo "node_modules missing: run scripts/setup.sh (npm ci)" >&2
  echo "gguf_reference: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/gguf_reference.mjs
