#!/usr/bin/env bash
# `owl run --regex` and `--grammar`: greedy and seeded outputs on stories260K
# checked by an independent matcher (grep -E, whole line), clear errors for bad
# grammars, and the constraints exclude one another.
source "$(dirname "$0")/../cli_common.bash"

expect_status 0 "$OWL" run --help
grep -q -- "--grammar F" "$tmp/out" && grep -q -- "--regex R" "$tmp/out" && ok || bad "run --help documents --grammar and --regex"

# each regex in owl's syntax, then the same language for grep -E (POSIX has no \d)
check_regex() { # owl_regex posix_regex
  for seed in 1 2 3 4 5 6; do
    local temp=1; [ "$seed" = 1 ] && temp=0
    out=$("$OWL" run "$M" -p "Once upon a time" --regex "$1" --temp $temp --seed $seed -n 120)
    rc=$?
    if [ $rc -eq 0 ] && [ "$(printf '%s' "$out" | wc -l)" -eq 0 ] && printf '%s\n' "$out" | grep -Eqx -- "$2"; then ok
    else bad "--regex '$1' seed $seed (rc $rc): '$out' does not match"; fi
  done
}
check_regex '[A-Z][a-z]+ (is|was) [a-z ]{3,20}\.' '[A-Z][a-z]+ (is|was) [a-z ]{3,20}\.'
check_regex '\d{1,3}(\.\d{1,3}){3}' '[0-9]{1,3}(\.[0-9]{1,3}){3}'
check_regex '^(?:yes|no), \w{2,8}!$' '(yes|no), [A-Za-z0-9_]{2,8}!'
check_regex ' ?[a-z]+( [a-z]+){2,4}\.' ' ?[a-z]+( [a-z]+){2,4}\.'

# without the constraint the same greedy run is ordinary prose that the regex refuses
out=$("$OWL" run "$M" -p "Once upon a time" --temp 0 -n 30)
printf '%s\n' "$out" | grep -Eqx -- '[0-9]{1,3}(\.[0-9]{1,3}){3}' && bad "unconstrained text matched" || ok

# a GBNF file
printf 'root ::= "The " animal " is " color "."\nanimal ::= "cat" | "dog" | "bird"\ncolor ::= [a-z]{3,6}\n' > "$tmp/g.gbnf"
for seed in 1 2 3; do
  out=$("$OWL" run "$M" -p "Once upon a time" --grammar "$tmp/g.gbnf" --seed $seed --temp 1)
  printf '%s\n' "$out" | grep -Eqx 'The (cat|dog|bird) is [a-z]{3,6}\.' && ok || bad "--grammar seed $seed: '$out'"
done

printf 'root ::= "a" foo\n' > "$tmp/bad.gbnf"
expect_status 1 "$OWL" run "$M" -p x --grammar "$tmp/bad.gbnf"
grep -q "bad.gbnf: grammar:1:14: undefined rule 'foo'" "$tmp/err" && ok || bad "undefined rule error: $(cat "$tmp/err")"
expect_status 1 "$OWL" run "$M" -p x --regex 'a(b'
grep -q "regex:4: unclosed group" "$tmp/err" && ok || bad "regex error: $(cat "$tmp/err")"
expect_status 2 "$OWL" run "$M" -p x --regex a --grammar "$tmp/g.gbnf"
expect_status 2 "$OWL" run "$M" -p x --regex a --json-schema "$tmp/g.gbnf"
expect_status 3 "$OWL" run "$M" -p x --grammar /nonexistent.gbnf

finish grammar
