#!/usr/bin/env bash
# The kernel tests and the reference logits once more with each narrower
# kernel set pinned (OWL_KERNELS=avx2, =scalar), so that every path the CPU
# probe can choose on some machine is checked on this one.
set -u
B=${OWL_BUILD:-build}
pass=0; fail=0
for isa in avx2 scalar; do
  for t in test_kernels test_engine; do
    out=$(OWL_KERNELS=$isa "$B/tests/$t" 2>&1); rc=$?
    if [ $rc -eq 0 ] && grep -qE "^$t: [0-9]+ passed, 0 failed$" <<<"$out"; then pass=$((pass + 1))
    else fail=$((fail + 1)); echo "FAIL: OWL_KERNELS=$isa $t"; tail -n 20 <<<"$out"; fi
  done
  if OWL_KERNELS=$isa "$B/tests/test_kernels" | grep -q "fast kernels ($isa)"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $isa not selected"; fi
done
echo "kernels_isa: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
