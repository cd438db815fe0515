#!/usr/bin/env bash
# Installs everything owl needs to build and test on a fresh Debian 12, as
# root (or with sudo). Idempotent: installs only what is missing, says what.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential        # gcc, make
  clang                  # second compiler, libFuzzer harnesses
  libclang-rt-14-dev     # libFuzzer + sanitizer runtimes for clang
  pkg-config
  libjansson-dev         # JSON
  libssl-dev             # SHA-256, signatures (OpenSSL)
  libonig-dev            # Oniguruma: the regex engine of Hugging Face tokenizers
  libutf8proc-dev        # Unicode normalisation and categories
  libmicrohttpd-dev      # HTTP server
  libcurl4-openssl-dev   # downloads
  libopenblas-dev        # F32 GEMM where it helps
  gcc-aarch64-linux-gnu  # make test checks that the portable kernels build for ARM
  libc6-dev-arm64-cross
  ca-certificates
  tmux                   # owl chat is tested through a terminal
  jq                     # CLI tests read --json output
  curl                   # owl serve tests speak HTTP
  chromium               # owl serve's web page is tested in headless Chromium
)

# Node.js runs the reference implementations in the tests; a machine may carry
# its own build (with npm inside), so Debian's packages are added only if absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages already installed (${#PACKAGES[@]})"
fi

# npm test references, pinned by package-lock.json
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "setup: installing npm test references from package-lock.json"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules
else
  echo "setup: npm test references already installed"
fi
echo "setup: done. Next: make && build/owl inspect ../shared/models/stories260K/stories260K.gguf, or make test"
