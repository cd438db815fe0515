#!/usr/bin/env bash
# Adds up the per-binary lines of several test logs into the closing line CI reads.
set -u
p=0; f=0
for log in "$@"; do
  [ -f "$log" ] || { echo "missing log $log"; f=$((f + 1)); continue; }
  p=$((p + $(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')))
  f=$((f + $(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')))
done
echo "all: $p passed, $f failed"
[ "$f" -eq 0 ]
