/* bytebuf.h: a growable byte buffer for tests that build files by hand,
 * including deliberately malformed ones. */
#ifndef OWL_TEST_BYTEBUF_H
#define OWL_TEST_BYTEBUF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytebuf {
    uint8_t *p;
    size_t n, cap;
} bytebuf;

static inline void bb_put(bytebuf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}
static inline void bb_le(bytebuf *b, uint64_t v, unsigned n) {
    uint8_t x[8];
    for (unsigned i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
    bb_put(b, x, n);
}
static inline void bb_u8(bytebuf *b, uint8_t v) { bb_le(b, v, 1); }
static inline void bb_u32(bytebuf *b, uint32_t v) { bb_le(b, v, 4); }
static inline void bb_u64(bytebuf *b, uint64_t v) { bb_le(b, v, 8); }
static inline void bb_f32(bytebuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    bb_u32(b, u);
}
static inline void bb_zeros(bytebuf *b, size_t n) {
    for (size_t i = 0; i < n; i++) bb_u8(b, 0);
}
static inline void bb_pad(bytebuf *b, size_t align) {
    while (b->n % align) bb_u8(b, 0);
}
static inline void bb_free(bytebuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
static inline int bb_write_file(const bytebuf *b, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = b->n ? fwrite(b->p, 1, b->n, f) : 0;
    fclose(f);
    return w == b->n ? 0 : -1;
}

#endif
