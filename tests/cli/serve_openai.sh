#!/usr/bin/env bash
# owl serve through the official openai npm client (see tests/js/serve_openai.mjs).
set -u
if [ ! -d node_modules/openai ]; then
  echo "node_modules missing: run scripts/setup.sh (npm ci)" >&2
  echo "serve_openai: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/serve_openai.mjs
