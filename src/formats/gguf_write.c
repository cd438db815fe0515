/* gguf_write.c: the GGUF writer (quantize, convert and LoRA export use it).
 * Layout as llama.cpp writes it: header, metadata, tensor infos, zero padding
 * to the alignment, then each tensor's data padded to the alignment, so a
 * llama.cpp-written file read and written back is byte-identical. */
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/checked.h"
#include "core/error.h"
#include "formats/gguf.h"

static const uint8_t elem_sizes[GGUF_TYPE_COUNT] = {
    [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4, [GGUF_I32] = 4,
    [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
};

static void put_le(owl_atomic_file *f, uint64_t v, unsigned n) {
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    owl_atomic_write(f, b, n);
}

static void put_str(owl_atomic_file *f, owl_strview s) {
    put_le(f, s.len, 8);
    owl_atomic_write(f, s.p, s.len);
}

static void put_array(owl_atomic_file *f, const owl_gguf_value *v);

static void put_value(owl_atomic_file *f, const owl_gguf_value *v) {
    switch (v->type) {
    case GGUF_STRING: put_str(f, v->s); break;
    case GGUF_ARRAY: put_array(f, v); break;
    case GGUF_F32: {
        float x = (float)v->f;
        uint32_t u;
        memcpy(&u, &x, 4);
        put_le(f, u, 4);
        break;
    }
    case GGUF_F64: {
        uint64_t u;
        memcpy(&u, &v->f, 8);
        put_le(f, u, 8);
        break;
    }
    default: put_le(f, v->u, elem_sizes[v->type]); break;
    }
}

static void put_array(owl_atomic_file *f, const owl_gguf_value *v) {
    put_le(f, v->arr.elem_type, 4);
    put_le(f, v->arr.n, 8);
    if (v->arr.elem_type == GGUF_STRING)
        for (uint64_t i = 0; i < v->arr.n; i++) put_str(f, v->arr.strs[i]);
    else if (v->arr.elem_type == GGUF_ARRAY)
        for (uint64_t i = 0; i < v->arr.n; i++) put_array(f, &v->arr.items[i]);
    else
        owl_atomic_write(f, v->arr.raw, (size_t)(v->arr.n * elem_sizes[v->arr.elem_type]));
}

static void pad_to(owl_atomic_file *f, uint64_t alignment) {
    static const uint8_t zeros[256];
    uint64_t target;
    if (!owl_align_u64(f->written, alignment, &target)) return;
    while (f->written < target) {
        uint64_t n = target - f->written;
        owl_atomic_write(f, zeros, n > sizeof zeros ? sizeof zeros : (size_t)n);
    }
}

owl_status owl_gguf_write(const char *path, uint32_t version, const owl_gguf_kv *kv, uint64_t n_kv,
                          const owl_gguf_out_tensor *tensors, uint64_t n_tensors, uint64_t alignment, owl_error *err) {
    return owl_gguf_write_made(path, version, kv, n_kv, tensors, n_tensors, alignment, NULL, NULL, err);
}

owl_status owl_gguf_write_made(const char *path, uint32_t version, const owl_gguf_kv *kv, uint64_t n_kv,
                               const owl_gguf_out_tensor *tensors, uint64_t n_tensors, uint64_t alignment,
                               owl_gguf_make_fn make, void *make_ctx, owl_error *err) {
    if (version != 2 && version != 3) return owl_fail(err, OWL_ERR_USAGE, "%s: cannot write GGUF version %u", path, version);
    if (!alignment || (alignment & (alignment - 1)))
        return owl_fail(err, OWL_ERR_USAGE, "%s: alignment %llu is not a power of two", path, (unsigned long long)alignment);
    for (uint64_t i = 0; i < n_kv; i++)
        if (kv[i].value.type >= GGUF_TYPE_COUNT)
            return owl_fail(err, OWL_ERR_USAGE, "%s: metadata value %llu has invalid type %u", path, (unsigned long long)i,
                            kv[i].value.type);
    owl_atomic_file f;
    owl_status st = owl_atomic_open(&f, path, err);
    if (st) return st;
    owl_atomic_write(&f, "GGUF", 4);
    put_le(&f, version, 4);
    put_le(&f, n_tensors, 8);
    put_le(&f, n_kv, 8);
    for (uint64_t i = 0; i < n_kv; i++) {
        put_str(&f, kv[i].key);
        put_le(&f, kv[i].value.type, 4);
        put_value(&f, &kv[i].value);
    }
    uint64_t offset = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        const owl_gguf_out_tensor *t = &tensors[i];
        put_str(&f, t->name);
        put_le(&f, t->n_dims, 4);
        for (uint32_t k = 0; k < t->n_dims; k++) put_le(&f, t->ne[k], 8);
        put_le(&f, t->type, 4);
        put_le(&f, offset, 8);
        if (!owl_add_u64(offset, t->n_bytes, &offset) || !owl_align_u64(offset, alignment, &offset)) {
            owl_atomic_abort(&f);
            return owl_fail(err, OWL_ERR_USAGE, "%s: tensor sizes overflow", path);
        }
    }
    /* gguf-py writes no padding after the metadata of a tensorless (vocab-only) file */
    if (n_tensors) pad_to(&f, alignment);
    for (uint64_t i = 0; i < n_tensors; i++) {
        const owl_gguf_out_tensor *t = &tensors[i];
        if (t->data) {
            owl_atomic_write(&f, t->data, (size_t)t->n_bytes);
        } else if (make) {
            void *buf = malloc(t->n_bytes ? (size_t)t->n_bytes : 1);
            st = buf ? make(make_ctx, i, buf, err) : owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
            if (st) {
                free(buf);
                owl_atomic_abort(&f);
                return st;
            }
            owl_atomic_write(&f, buf, (size_t)t->n_bytes);
            free(buf);
        } else {
            owl_atomic_write_zeros(&f, t->n_bytes); /* all-zero data: a sparse hole */
        }
        pad_to(&f, alignment);
    }
    return owl_atomic_commit(&f, err);
}
