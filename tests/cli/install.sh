#!/usr/bin/env bash
# `make install` into a DESTDIR, then a program written against the installed
# public header alone, linked with the installed shared and static library.
set -u
build=${OWL_BUILD:-build}
S=${OWL_SHARED:-../shared}
tmp=$(mktemp -d)
pass=0; fail=0
san=""
case "$build" in *asan*) san="-fsanitize=address,undefined" ;; esac
if make -s BUILD="$build" SANITIZE=$([ -n "$san" ] && echo 1) install DESTDIR="$tmp" PREFIX=/usr >"$tmp/make.log" 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); cat "$tmp/make.log"; fi
for f in usr/bin/owl usr/lib/libowl.a usr/lib/libowl.so usr/include/owl.h; do
  [ -f "$tmp/$f" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: $f not installed"; }
done
cat > "$tmp/prog.c" <<'C'
#include <owl.h>
#include <stdio.h>
int main(int argc, char **argv) {
    owl_error err;
    owl_model *m;
    if (owl_model_open(argv[1], &m, &err) != OWL_OK) { fprintf(stderr, "%s\n", err.message); return 1; }
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    printf("%zu %llu %s\n", owl_model_get_info(m)->n_tensors, (unsigned long long)params, owl_model_get_info(m)->family);
    owl_model_close(m);
    return argc > 2;
}
C
libs=$(pkg-config --libs jansson openssl 2>/dev/null) 
extra=$(pkg-config --libs oniguruma libutf8proc 2>/dev/null)
if cc -std=c11 -Wall -Werror $san -I"$tmp/usr/include" "$tmp/prog.c" -o "$tmp/prog_shared" -L"$tmp/usr/lib" -lowl $libs $extra -lm 2>"$tmp/cc.log"; then
  out=$(LD_LIBRARY_PATH="$tmp/usr/lib" "$tmp/prog_shared" "$S/models/stories260K/stories260K.gguf")
  [ "$out" = "48 292800 llama" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: shared-library program printed '$out'"; }
else fail=$((fail+1)); cat "$tmp/cc.log"; fi
if cc -std=c11 -Wall -Werror $san -I"$tmp/usr/include" "$tmp/prog.c" -o "$tmp/prog_static" "$tmp/usr/lib/libowl.a" $libs $extra -lm -lpthread 2>"$tmp/cc.log"; then
  out=$("$tmp/prog_static" "$S/models/stories260K/stories260K.gguf")
  [ "$out" = "48 292800 llama" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: static program printed '$out'"; }
else fail=$((fail+1)); cat "$tmp/cc.log"; fi
rm -rf "$tmp"
echo "cli_install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
