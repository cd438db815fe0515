/* strmap.c: FNV-1a hashed open addressing, load factor at most 1/2, so a
 * lookup costs one hash and a probe or two. */
#include "tokenizer/strmap.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t hash_more(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
    return h;
}

static uint64_t finish(uint64_t h) { /* spreads FNV's weak high bits into the low ones we index with */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int tok_strmap_init(tok_strmap *m, size_t max_entries) {
    memset(m, 0, sizeof *m);
    size_t slots = 16;
    while (slots < 2 * max_entries) slots *= 2;
    size_t n = max_entries ? max_entries : 1;
    m->key = malloc(n * sizeof *m->key);
    m->klen = malloc(n * sizeof *m->klen);
    m->val = malloc(n * sizeof *m->val);
    m->slot = calloc(slots, sizeof *m->slot);
    m->cap_entries = max_entries;
    m->mask = slots - 1;
    if (!m->key || !m->klen || !m->val || !m->slot) {
        tok_strmap_free(m);
        return 0;
    }
    return 1;
}

void tok_strmap_free(tok_strmap *m) {
    free(m->key);
    free(m->klen);
    free(m->val);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

int32_t tok_strmap_put(tok_strmap *m, const char *key, size_t n, int32_t val) {
    size_t i = finish(hash_more(FNV_OFFSET, key, n)) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint32_t e = m->slot[i];
        if (!e) break;
        if (m->klen[e - 1] == n && memcmp(m->key[e - 1], key, n) == 0) return m->val[e - 1];
    }
    if (m->n >= m->cap_entries) return -1; /* callers size the table for every key */
    m->key[m->n] = key;
    m->klen[m->n] = (uint32_t)n;
    m->val[m->n] = val;
    m->slot[i] = (uint32_t)++m->n;
    return -1;
}

int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t n) {
    if (!m->slot) return -1;
    size_t i = finish(hash_more(FNV_OFFSET, key, n)) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint32_t e = m->slot[i];
        if (!e) return -1;
        if (m->klen[e - 1] == n && memcmp(m->key[e - 1], key, n) == 0) return m->val[e - 1];
    }
}

int32_t tok_strmap_get_pair(const tok_strmap *m, const char *a, size_t na, const char *b, size_t nb) {
    if (!m->slot) return -1;
    uint64_t h = hash_more(FNV_OFFSET, a, na);
    h = hash_more(h, " ", 1);
    size_t i = finish(hash_more(h, b, nb)) & m->mask, n = na + 1 + nb;
    for (;; i = (i + 1) & m->mask) {
        uint32_t e = m->slot[i];
        if (!e) return -1;
        const char *k = m->key[e - 1];
        if (m->klen[e - 1] == n && memcmp(k, a, na) == 0 && k[na] == ' ' && memcmp(k + na + 1, b, nb) == 0)
            return m->val[e - 1];
    }
}
