#!/usr/bin/env bash
# Runs the test binaries given as arguments, then the CLI tests, and prints
# one line "tests: N passed, N failed". Exits non-zero if anything failed.
set -u
build=${OWL_BUILD:-build}
log="$build/check.log"
mkdir -p "$build"
: > "$log"
passed=0; failed=0
for t in "$@" tests/cli/*.sh; do
  [ -e "$t" ] || continue
  if [[ $t == *.sh ]]; then out=$(OWL_BUILD="$build" OWL_BIN="$build/owl" bash "$t" 2>&1); rc=$?
  else out=$("$t" 2>&1); rc=$?; fi
  line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -n 30
    echo "$t: 0 passed, 1 failed (exit $rc, no summary line)"; failed=$((failed + 1))
  else
    p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
    f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then printf '%s\n' "$out" | grep -v '^ok ' | tail -n 40; fi
    echo "$line"
  fi
done | tee -a "$log"
p=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo "tests ($build): $p passed, $f failed" | tee -a "$log.total"
[ "$f" -eq 0 ]
