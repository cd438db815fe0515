/* gguf_read.c: the GGUF v2/v3 reader. Parses header, metadata and tensor
 * infos from a buffer without copying; the data section stays in the map.
 * Every count and length is checked against the bytes that remain, so no
 * allocation is ever sized by an unchecked field (llama.cpp CVE-2025-53630
 * and its kin were exactly that). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "core/utf8.h"
#include "formats/gguf.h"
#include "model/dtype.h"

struct owl_gguf_alloc {
    owl_gguf_alloc *next;
    _Alignas(16) unsigned char data[];
};

typedef struct reader {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
    owl_gguf *g;
    owl_error *err;
} reader;

static const uint8_t value_sizes[GGUF_TYPE_COUNT] = {
    [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4, [GGUF_I32] = 4,
    [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
};

static const char *const type_names[GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

const char *owl_gguf_type_name(uint32_t type) { return type < GGUF_TYPE_COUNT ? type_names[type] : "invalid"; }

static void *galloc(owl_gguf *g, uint64_t n, uint64_t size) {
    uint64_t bytes;
    if (!owl_mul_u64(n, size, &bytes) || bytes > ((uint64_t)1 << 40)) return NULL;
    owl_gguf_alloc *a = calloc(1, sizeof *a + (size_t)bytes);
    if (!a) return NULL;
    a->next = g->allocs;
    g->allocs = a;
    return a->data;
}

/* "FILE: byte N: detail" */
static owl_status fail_at(reader *r, uint64_t at, const char *fmt, ...) OWL_PRINTF(3, 4);
static owl_status fail_at(reader *r, uint64_t at, const char *fmt, ...) {
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return owl_fail(r->err, OWL_ERR_INPUT, "%s: byte %llu: %.768s", r->path, (unsigned long long)at, detail);
}

static uint64_t remaining(const reader *r) { return r->size - r->pos; }

static owl_status need(reader *r, uint64_t n, const char *what) {
    if (n > remaining(r))
        return fail_at(r, r->pos, "%s: needs %llu bytes but the file ends after %llu (truncated?)", what,
                       (unsigned long long)n, (unsigned long long)remaining(r));
    return OWL_OK;
}

static uint64_t load_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static owl_status read_u32(reader *r, uint32_t *out, const char *what) {
    owl_status st = need(r, 4, what);
    if (st) return st;
    *out = (uint32_t)load_le(r->p + r->pos, 4);
    r->pos += 4;
    return OWL_OK;
}

static owl_status read_u64(reader *r, uint64_t *out, const char *what) {
    owl_status st = need(r, 8, what);
    if (st) return st;
    *out = load_le(r->p + r->pos, 8);
    r->pos += 8;
    return OWL_OK;
}

/* A GGUF string: u64 length then bytes (no terminator). */
static owl_status read_str(reader *r, owl_strview *out, uint64_t max_len, const char *what) {
    uint64_t at = r->pos, len;
    owl_status st = read_u64(r, &len, what);
    if (st) return st;
    if (len > remaining(r))
        return fail_at(r, at, "%s: string length %llu runs past the end of the file (%llu bytes left)", what,
                       (unsigned long long)len, (unsigned long long)remaining(r));
    if (len > max_len)
        return fail_at(r, at, "%s: string length %llu exceeds the limit of %llu", what, (unsigned long long)len,
                       (unsigned long long)max_len);
    out->p = (const char *)r->p + r->pos;
    out->len = (size_t)len;
    r->pos += len;
    return OWL_OK;
}

static owl_status read_value(reader *r, uint32_t type, owl_gguf_value *v, int depth, const char *key);

static owl_status read_array(reader *r, owl_gguf_value *v, int depth, const char *key) {
    uint64_t at = r->pos, n;
    uint32_t et;
    owl_status st = read_u32(r, &et, "array element type");
    if (!st) st = read_u64(r, &n, "array length");
    if (st) return st;
    if (et >= GGUF_TYPE_COUNT) return fail_at(r, at, "array: " "key '%s': array element type %u is not a GGUF type (0..12)", key, et);
    if (et == GGUF_ARRAY && depth + 1 >= OWL_GGUF_MAX_NESTING) return fail_at(r, at, "array: " "key '%s': arrays nested more than %d deep", key, OWL_GGUF_MAX_NESTING);
    /* the smallest encoding of one element bounds the count by the bytes left */
    uint64_t min_elem = et == GGUF_STRING ? 8 : et == GGUF_ARRAY ? 12 : value_sizes[et];
    if (n > remaining(r) / min_elem) return fail_at(r, at, "array length: " "key '%s': %llu %s elements cannot fit in the %llu bytes left", key,
                 (unsigned long long)n, owl_gguf_type_name(et), (unsigned long long)remaining(r));
    v->arr.elem_type = et;
    v->arr.n = n;
    if (et == GGUF_STRING) {
        v->arr.strs = n ? galloc(r->g, n, sizeof(owl_strview)) : NULL;
        if (n && !v->arr.strs) return owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory for array '%s'", r->path, key);
        for (uint64_t i = 0; i < n; i++)
            if ((st = read_str(r, &v->arr.strs[i], UINT64_MAX, "array string"))) return st;
    } else if (et == GGUF_ARRAY) {
        v->arr.items = n ? galloc(r->g, n, sizeof(owl_gguf_value)) : NULL;
        if (n && !v->arr.items) return owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory for array '%s'", r->path, key);
        for (uint64_t i = 0; i < n; i++) {
            v->arr.items[i].type = GGUF_ARRAY;
            if ((st = read_array(r, &v->arr.items[i], depth + 1, key))) return st;
        }
    } else {
        v->arr.raw = r->p + r->pos;
        r->pos += n * value_sizes[et];
        if (et == GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (v->arr.raw[i] > 1) return fail_at(r, r->pos - n + i, "bool: " "key '%s': element %llu of a bool array is %u (expected 0 or 1)", key,
                             (unsigned long long)i, v->arr.raw[i]);
    }
    return OWL_OK;
}

static owl_status read_value(reader *r, uint32_t type, owl_gguf_value *v, int depth, const char *key) {
    v->type = type;
    if (type == GGUF_STRING) return read_str(r, &v->s, UINT64_MAX, "string value");
    if (type == GGUF_ARRAY) return read_array(r, v, depth, key);
    unsigned n = value_sizes[type];
    uint64_t at = r->pos;
    owl_status st = need(r, n, "value");
    if (st) return st;
    uint64_t raw = load_le(r->p + r->pos, n);
    r->pos += n;
    switch (type) {
    case GGUF_I8: v->i = (int8_t)raw; break;
    case GGUF_I16: v->i = (int16_t)raw; break;
    case GGUF_I32: v->i = (int32_t)raw; break;
    case GGUF_I64: v->i = (int64_t)raw; break;
    case GGUF_F32: {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        v->f = f;
        break;
    }
    case GGUF_F64: memcpy(&v->f, &raw, 8); break;
    case GGUF_BOOL:
        if (raw > 1) return fail_at(r, at, "bool: " "key '%s': bool value is %llu (expected 0 or 1)", key, (unsigned long long)raw);
        v->u = raw;
        break;
    default: v->u = raw; break;
    }
    return OWL_OK;
}

/* Copies a key into a small NUL-terminated buffer for messages. */
static const char *key_text(owl_strview k, char *buf, size_t cap) {
    size_t n = k.len < cap - 1 ? k.len : cap - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (k.p[i] >= 32 && k.p[i] < 127) ? k.p[i] : '?';
    buf[n] = '\0';
    return buf;
}

static owl_status read_kvs(reader *r) {
    owl_gguf *g = r->g;
    owl_status st;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        owl_gguf_kv *kv = &g->kv[i];
        kv->offset = r->pos;
        if ((st = read_str(r, &kv->key, OWL_GGUF_MAX_KEY, "metadata key"))) return st;
        char kb[128];
        key_text(kv->key, kb, sizeof kb);
        if (kv->key.len == 0) return fail_at(r, kv->offset, "metadata key: empty key");
        if (!owl_utf8_valid(kv->key.p, kv->key.len)) return fail_at(r, kv->offset, "metadata key: " "key #%llu ('%s') is not valid UTF-8", (unsigned long long)i, kb);
        uint32_t type;
        uint64_t at = r->pos;
        if ((st = read_u32(r, &type, "value type"))) return st;
        if (type >= GGUF_TYPE_COUNT) return fail_at(r, at, "value type: " "key '%s' has value type %u (expected 0..12)", kb, type);
        if ((st = read_value(r, type, &kv->value, 0, kb))) return st;
    }
    return OWL_OK;
}

static owl_status read_tensor_infos(reader *r) {
    owl_gguf *g = r->g;
    owl_status st;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        owl_gguf_tensor *t = &g->tensors[i];
        t->info_offset = r->pos;
        if ((st = read_str(r, &t->name, OWL_GGUF_MAX_TENSOR_NAME, "tensor name"))) return st;
        char nb[160];
        key_text(t->name, nb, sizeof nb);
        if (t->name.len == 0 || !owl_utf8_valid(t->name.p, t->name.len) || memchr(t->name.p, 0, t->name.len)) return fail_at(r, t->info_offset, "tensor name: " "tensor #%llu has an empty or invalid UTF-8 name ('%s')", (unsigned long long)i, nb);
        uint64_t at = r->pos;
        if ((st = read_u32(r, &t->n_dims, "tensor n_dims"))) return st;
        if (t->n_dims == 0 || t->n_dims > OWL_MAX_DIMS) return fail_at(r, at, "tensor n_dims: " "tensor '%s' has %u dimensions (expected 1..%d)", nb, t->n_dims, OWL_MAX_DIMS);
        t->n_elements = 1;
        for (uint32_t k = 0; k < OWL_MAX_DIMS; k++) t->ne[k] = 1;
        for (uint32_t k = 0; k < t->n_dims; k++) {
            at = r->pos;
            if ((st = read_u64(r, &t->ne[k], "tensor dimension"))) return st;
            if (t->ne[k] == 0 || t->ne[k] > (uint64_t)INT64_MAX) return fail_at(r, at, "tensor dimension: " "tensor '%s' dimension %u is %llu (expected 1..2^63-1)", nb, k,
                         (unsigned long long)t->ne[k]);
            if (!owl_mul_u64(t->n_elements, t->ne[k], &t->n_elements) || t->n_elements > (uint64_t)INT64_MAX) return fail_at(r, at, "tensor dimension: " "tensor '%s': the element count overflows 63 bits", nb);
        }
        at = r->pos;
        if ((st = read_u32(r, &t->type, "tensor type"))) return st;
        const owl_dtype_traits *tr = owl_dtype_get((int)t->type);
        if (!tr || t->type == OWL_U8) return fail_at(r, at, "tensor type: " "tensor '%s' has type id %u, which is not a ggml type owl knows", nb, t->type);
        if (tr->removed)
            return owl_fail(r->err, OWL_ERR_UNSUPPORTED,
                            "%s: byte %llu: tensor '%s' has type %s (id %u), which ggml removed; re-convert the model from its original weights",
                            r->path, (unsigned long long)at, nb, tr->name, t->type);
        if (t->ne[0] % tr->block_size)
            return fail_at(r, at, "tensor '%s' of type %s has rows of %llu elements, not a multiple of its block size %u",
                           nb, tr->name, (unsigned long long)t->ne[0], tr->block_size);
        if (owl_dtype_bytes((int)t->type, t->n_elements, &t->n_bytes) != OWL_OK) return fail_at(r, at, "tensor size: " "tensor '%s': byte size overflows", nb);
        at = r->pos;
        if ((st = read_u64(r, &t->offset, "tensor offset"))) return st;
        if (t->offset % g->alignment) return fail_at(r, at, "tensor offset: " "tensor '%s' data offset %llu is not a multiple of the alignment %llu", nb,
                     (unsigned long long)t->offset, (unsigned long long)g->alignment);
    }
    return OWL_OK;
}

/* Duplicate keys and tensor names are found by sorting (n log n): a hostile
   file with a million entries must not make a quadratic scan. */
typedef struct named_at {
    owl_strview name;
    uint64_t offset, index;
} named_at;

static int cmp_named(const void *a, const void *b) {
    const named_at *x = a, *y = b;
    size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = n ? memcmp(x->name.p, y->name.p, n) : 0;
    if (c) return c;
    if (x->name.len != y->name.len) return x->name.len < y->name.len ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static owl_status check_unique(reader *r, named_at *v, uint64_t n, const char *what) {
    qsort(v, (size_t)n, sizeof *v, cmp_named);
    for (uint64_t i = 1; i < n; i++)
        if (v[i].name.len == v[i - 1].name.len && !memcmp(v[i].name.p, v[i - 1].name.p, v[i].name.len)) {
            char nb[160];
            return fail_at(r, v[i].offset, "%s '%s' appears twice (first at byte %llu)", what,
                           key_text(v[i].name, nb, sizeof nb), (unsigned long long)v[i - 1].offset);
        }
    return OWL_OK;
}

static owl_status check_duplicate_keys(reader *r) {
    owl_gguf *g = r->g;
    if (!g->n_kv) return OWL_OK;
    named_at *v = malloc((size_t)g->n_kv * sizeof *v);
    if (!v) return owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory", r->path);
    for (uint64_t i = 0; i < g->n_kv; i++) v[i] = (named_at){g->kv[i].key, g->kv[i].offset, i};
    owl_status st = check_unique(r, v, g->n_kv, "metadata key");
    /* keep the sorted key order: owl_gguf_find binary-searches it */
    if (!st && !(g->kv_sorted = galloc(g, g->n_kv, sizeof *g->kv_sorted)))
        st = owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory", r->path);
    for (uint64_t i = 0; !st && i < g->n_kv; i++) g->kv_sorted[i] = v[i].index;
    free(v);
    return st;
}

static owl_status check_duplicate_tensors(reader *r) {
    owl_gguf *g = r->g;
    if (g->n_tensors < 2) return OWL_OK;
    named_at *v = malloc((size_t)g->n_tensors * sizeof *v);
    if (!v) return owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory", r->path);
    for (uint64_t i = 0; i < g->n_tensors; i++) v[i] = (named_at){g->tensors[i].name, g->tensors[i].info_offset, i};
    owl_status st = check_unique(r, v, g->n_tensors, "tensor name");
    free(v);
    return st;
}

/* Tensor ranges inside the data section, and no two overlapping. */
static int by_offset(const void *a, const void *b) {
    const owl_gguf_tensor *x = *(owl_gguf_tensor *const *)a, *y = *(owl_gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static owl_status check_data_layout(reader *r) {
    owl_gguf *g = r->g;
    if (!g->n_tensors) return OWL_OK;
    uint64_t data_size = g->data_offset <= r->size ? r->size - g->data_offset : 0;
    if (g->data_offset > r->size)
        return owl_fail(r->err, OWL_ERR_INPUT, "%s: the tensor data section would start at byte %llu, past the end of the file (%llu bytes)",
                        r->path, (unsigned long long)g->data_offset, (unsigned long long)r->size);
    owl_gguf_tensor **order = malloc(g->n_tensors * sizeof *order);
    if (!order) return owl_fail(r->err, OWL_ERR_NOMEM, "%s: out of memory", r->path);
    for (uint64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, g->n_tensors, sizeof *order, by_offset);
    owl_status st = OWL_OK;
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) {
        const owl_gguf_tensor *t = order[i];
        char nb[160];
        key_text(t->name, nb, sizeof nb);
        if (!owl_range_ok(t->offset, t->n_bytes, data_size)) {
            st = owl_fail(r->err, OWL_ERR_INPUT,
                          "%s: byte %llu: tensor '%s' needs %llu bytes at data offset %llu (file byte %llu), but the data section holds only %llu bytes (truncated file?)",
                          r->path, (unsigned long long)t->info_offset, nb, (unsigned long long)t->n_bytes,
                          (unsigned long long)t->offset, (unsigned long long)(g->data_offset + t->offset),
                          (unsigned long long)data_size);
        } else if (i > 0 && order[i - 1]->offset + order[i - 1]->n_bytes > t->offset) {
            char pb[160];
            key_text(order[i - 1]->name, pb, sizeof pb);
            st = owl_fail(r->err, OWL_ERR_INPUT,
                          "%s: tensors '%s' (data bytes %llu..%llu) and '%s' (from %llu) overlap", r->path, pb,
                          (unsigned long long)order[i - 1]->offset,
                          (unsigned long long)(order[i - 1]->offset + order[i - 1]->n_bytes), nb,
                          (unsigned long long)t->offset);
        }
    }
    free(order);
    return st;
}

owl_status owl_gguf_parse(const uint8_t *data, uint64_t size, const char *path, owl_gguf **out, owl_error *err) {
    *out = NULL;
    owl_gguf *g = calloc(1, sizeof *g);
    if (!g) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    reader r = {data, size, 0, path, g, err};
    g->path = path;
    g->base = data;
    g->size = size;
    owl_status st = OWL_OK;
    if (size < 4 || memcmp(data, "GGUF", 4) != 0) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: byte 0: not a GGUF file (expected the magic \"GGUF\")", path);
        goto done;
    }
    r.pos = 4;
    if ((st = read_u32(&r, &g->version, "GGUF version"))) goto done;
    if (g->version != 2 && g->version != 3) {
        if (g->version == 1)
            st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: byte 4: GGUF version 1 is obsolete; re-convert the model (owl reads versions 2 and 3)", path);
        else if ((g->version & 0xffff) == 0 && g->version != 0)
            st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: byte 4: this looks like a big-endian GGUF (version field %08x); owl reads little-endian files",
                          path, g->version);
        else
            st = owl_fail(err, OWL_ERR_INPUT, "%s: byte 4: GGUF version %u (expected 2 or 3)", path, g->version);
        goto done;
    }
    if ((st = read_u64(&r, &g->n_tensors, "tensor count"))) goto done;
    if ((st = read_u64(&r, &g->n_kv, "metadata count"))) goto done;
    /* a key/value takes at least 8 (key length) + 1 + 4 + 1 bytes, a tensor info 8+1+4+8+4+8 */
    if (g->n_kv > remaining(&r) / 14) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: byte 16: metadata count %llu cannot fit in a %llu-byte file", path,
                      (unsigned long long)g->n_kv, (unsigned long long)size);
        goto done;
    }
    if (g->n_tensors > remaining(&r) / 33 || g->n_tensors > OWL_MAX_TENSORS) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: byte 8: tensor count %llu cannot fit in a %llu-byte file (or exceeds %u)",
                      path, (unsigned long long)g->n_tensors, (unsigned long long)size, OWL_MAX_TENSORS);
        goto done;
    }
    g->kv = g->n_kv ? galloc(g, g->n_kv, sizeof *g->kv) : NULL;
    g->tensors = g->n_tensors ? galloc(g, g->n_tensors, sizeof *g->tensors) : NULL;
    if ((g->n_kv && !g->kv) || (g->n_tensors && !g->tensors)) {
        st = owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((st = read_kvs(&r))) goto done;
    if ((st = check_duplicate_keys(&r))) goto done;
    g->alignment = OWL_GGUF_DEFAULT_ALIGNMENT;
    const owl_gguf_kv *al = owl_gguf_find(g, "general.alignment");
    if (al) {
        if (al->value.type != GGUF_U32 || al->value.u == 0 || (al->value.u & (al->value.u - 1))) {
            st = owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: general.alignment must be a u32 power of two (found %s %llu)",
                          path, (unsigned long long)al->offset, owl_gguf_type_name(al->value.type),
                          (unsigned long long)al->value.u);
            goto done;
        }
        g->alignment = al->value.u;
    }
    if ((st = read_tensor_infos(&r))) goto done;
    if (!owl_align_u64(r.pos, g->alignment, &g->data_offset)) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: data offset overflows", path);
        goto done;
    }
    if ((st = check_duplicate_tensors(&r))) goto done;
    st = check_data_layout(&r);
done:
    if (st != OWL_OK) {
        owl_gguf_free(g);
        return st;
    }
    *out = g;
    return OWL_OK;
}

void owl_gguf_free(owl_gguf *g) {
    if (!g) return;
    for (owl_gguf_alloc *a = g->allocs, *n; a; a = n) {
        n = a->next;
        free(a);
    }
    free(g);
}

const owl_gguf_kv *owl_gguf_find(const owl_gguf *g, const char *key) {
    named_at want = {{key, strlen(key)}, 0, 0};
    uint64_t lo = 0, hi = g->kv_sorted ? g->n_kv : 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const owl_gguf_kv *kv = &g->kv[g->kv_sorted[mid]];
        named_at probe = {kv->key, 0, 0};
        int c = cmp_named(&want, &probe);
        if (c == 0) return kv;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static int value_as_int(const owl_gguf_value *v, int64_t *out) {
    switch (v->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64:
        if (v->u > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)v->u;
        return 1;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
        *out = v->i;
        return 1;
    default: return 0;
    }
}

int owl_gguf_get_int(const owl_gguf *g, const char *key, int64_t *out) {
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    return kv && value_as_int(&kv->value, out);
}

int owl_gguf_get_float(const owl_gguf *g, const char *key, double *out) {
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->value.type == GGUF_F32 || kv->value.type == GGUF_F64) {
        *out = kv->value.f;
        return 1;
    }
    int64_t i;
    if (value_as_int(&kv->value, &i)) {
        *out = (double)i;
        return 1;
    }
    return 0;
}

int owl_gguf_get_bool(const owl_gguf *g, const char *key, int *out) {
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    if (!kv || kv->value.type != GGUF_BOOL) return 0;
    *out = (int)kv->value.u;
    return 1;
}

int owl_gguf_get_str(const owl_gguf *g, const char *key, owl_strview *out) {
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    if (!kv || kv->value.type != GGUF_STRING) return 0;
    *out = kv->value.s;
    return 1;
}

int64_t owl_gguf_arr_int(const owl_gguf_value *v, uint64_t i) {
    unsigned n = value_sizes[v->arr.elem_type];
    uint64_t raw = load_le(v->arr.raw + i * n, n);
    switch (v->arr.elem_type) {
    case GGUF_I8: return (int8_t)raw;
    case GGUF_I16: return (int16_t)raw;
    case GGUF_I32: return (int32_t)raw;
    case GGUF_I64: return (int64_t)raw;
    case GGUF_F32: case GGUF_F64: return (int64_t)owl_gguf_arr_float(v, i);
    default: return (int64_t)raw;
    }
}

double owl_gguf_arr_float(const owl_gguf_value *v, uint64_t i) {
    unsigned n = value_sizes[v->arr.elem_type];
    uint64_t raw = load_le(v->arr.raw + i * n, n);
    if (v->arr.elem_type == GGUF_F32) {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (v->arr.elem_type == GGUF_F64) {
        double d;
        memcpy(&d, &raw, 8);
        return d;
    }
    return (double)owl_gguf_arr_int(v, i);
}
