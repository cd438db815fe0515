# cli_common.bash: what the CLI tests share (sourced, not run): the binary and
# ground truth, pass/fail counting, a scratch directory, expect_status, and
# the closing "NAME: N passed, N failed" line.
set -u
OWL=${OWL_BIN:-build/owl}
S=${OWL_SHARED:-../shared}
[ -f "$S/README.md" ] || { echo "FATAL: ground truth not found at $S"; exit 3; }
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
M="$S/models/stories260K/stories260K.gguf"
expect_status() { # want cmd...
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $* :: $(head -c 300 "$tmp/err")"; fi
}
finish() { # name
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
