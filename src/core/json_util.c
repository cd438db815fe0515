/* json_util.c: helpers over jansson. */
#include "core/json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

json_t *owl_json_string_lossy(const char *p, size_t n) {
    if (owl_utf8_valid(p, n)) return json_stringn(p, n);
    char *buf = malloc(n * 3 + 1);
    if (!buf) return json_null();
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        unsigned char c = (unsigned char)p[i];
        if (c >= 0xC0) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0x80 || (i + len <= n && owl_utf8_valid(p + i, len))) {
            memcpy(buf + k, p + i, len);
            k += len;
            i += len;
        } else {
            memcpy(buf + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i += 1;
        }
    }
    json_t *s = json_stringn(buf, k);
    free(buf);
    return s ? s : json_null();
}

json_t *owl_json_str_or_null(const char *s) {
    if (!s) return json_null();
    return owl_json_string_lossy(s, strlen(s));
}

json_t *owl_json_real(double x) {
    float f = (float)x;
    if ((double)f == x && x == x) {
        /* a value that came from an f32: print its shortest decimal form */
        char buf[32];
        for (int p = 1; p <= 9; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, x);
            if ((float)strtod(buf, NULL) == f) return json_real(strtod(buf, NULL));
        }
    }
    return json_real(x);
}
