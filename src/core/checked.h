/* checked.h: overflow-safe size arithmetic. Every size or offset read from a
 * file goes through these before it is used for an allocation or a pointer. */
#ifndef OWL_CORE_CHECKED_H
#define OWL_CORE_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* Return true on success, false on overflow. */
static inline bool owl_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool owl_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
/* Rounds x up to a multiple of align (align > 0). */
static inline bool owl_align_u64(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t r = x % align;
    if (r == 0) {
        *out = x;
        return true;
    }
    return owl_add_u64(x, align - r, out);
}
/* True if [off, off+len) lies within [0, size). */
static inline bool owl_range_ok(uint64_t off, uint64_t len, uint64_t size) {
    return off <= size && len <= size - off;
}

#endif
