#!/usr/bin/env bash
# owl inspect on every model, vocabulary, tokenizer and adapter in ../shared (tests/js/inspect_all.mjs).
set -u
exec node tests/js/inspect_all.mjs
