#!/usr/bin/env bash
# owl serve's web page in headless Chromium (see tests/js/serve_page.mjs).
set -u
if [ ! -d node_modules/playwright-core ] || ! command -v chromium >/dev/null; then
  echo "playwright-core or chromium missing: run scripts/setup.sh" >&2
  echo "serve_page: 0 passed, 1 failed"; exit 1
fi
exec node tests/js/serve_page.mjs
