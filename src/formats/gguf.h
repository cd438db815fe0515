/* gguf.h: GGUF v2/v3 reader (zero-copy over a mapped buffer) and writer.
 * Spec: ggml/docs/gguf.md. Every count, length and offset is checked against
 * the bytes that remain before it is used. */
#ifndef OWL_FORMATS_GGUF_H
#define OWL_FORMATS_GGUF_H

#include <stdint.h>

#include "model/model.h"
#include "owl.h"

enum owl_gguf_type {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12, GGUF_TYPE_COUNT = 13
};

#define OWL_GGUF_MAX_NESTING 8       /* arrays of arrays, deeper is refused */
#define OWL_GGUF_MAX_KEY 65535
#define OWL_GGUF_MAX_TENSOR_NAME 1024
#define OWL_GGUF_DEFAULT_ALIGNMENT 32

typedef struct owl_gguf_value owl_gguf_value;
struct owl_gguf_value {
    uint32_t type;
    union {
        uint64_t u;   /* unsigned ints and bool */
        int64_t i;    /* signed ints */
        double f;     /* F32 and F64 */
        owl_strview s;
        struct {
            uint32_t elem_type;
            uint64_t n;
            const uint8_t *raw;      /* fixed-size elements, little-endian, maybe unaligned */
            owl_strview *strs;       /* STRING elements */
            owl_gguf_value *items;   /* ARRAY elements (nested arrays) */
        } arr;
    };
};

typedef struct owl_gguf_kv {
    owl_strview key;
    owl_gguf_value value;
    uint64_t offset; /* where the key starts in the file, for messages */
} owl_gguf_kv;

typedef struct owl_gguf_tensor {
    owl_strview name;
    uint32_t n_dims;
    uint64_t ne[OWL_MAX_DIMS];
    uint32_t type;
    uint64_t offset;      /* relative to the data section */
    uint64_t n_elements, n_bytes;
    uint64_t info_offset; /* where its info record starts in the file */
} owl_gguf_tensor;

typedef struct owl_gguf_alloc owl_gguf_alloc;

typedef struct owl_gguf {
    const char *path;     /* for messages; not owned */
    const uint8_t *base;
    uint64_t size;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    owl_gguf_kv *kv;
    owl_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset; /* start of the tensor data section */
    uint64_t *kv_sorted;  /* kv indices in key order, for lookups */
    owl_gguf_alloc *allocs;
} owl_gguf;

/* Parses a GGUF held in memory (not copied: the buffer must outlive the result). */
owl_status owl_gguf_parse(const uint8_t *data, uint64_t size, const char *path, owl_gguf **out, owl_error *err);
void owl_gguf_free(owl_gguf *g);

const owl_gguf_kv *owl_gguf_find(const owl_gguf *g, const char *key);
/* Typed lookups: return 1 and set *out if the key exists with a compatible type. */
int owl_gguf_get_int(const owl_gguf *g, const char *key, int64_t *out);
int owl_gguf_get_float(const owl_gguf *g, const char *key, double *out);
int owl_gguf_get_bool(const owl_gguf *g, const char *key, int *out);
int owl_gguf_get_str(const owl_gguf *g, const char *key, owl_strview *out);
const char *owl_gguf_type_name(uint32_t type);
/* Element i of a fixed-size numeric array as int64/double. */
int64_t owl_gguf_arr_int(const owl_gguf_value *v, uint64_t i);
double owl_gguf_arr_float(const owl_gguf_value *v, uint64_t i);

/* Writer: metadata and tensors go out in the order given; tensor offsets are
 * computed (each tensor padded to the alignment), written atomically. */
typedef struct owl_gguf_out_tensor {
    owl_strview name;
    uint32_t n_dims;
    uint64_t ne[OWL_MAX_DIMS];
    uint32_t type;
    const void *data;     /* NULL: n_bytes of zeros, written as a hole (or made, below) */
    uint64_t n_bytes;
} owl_gguf_out_tensor;

owl_status owl_gguf_write(const char *path, uint32_t version, const owl_gguf_kv *kv, uint64_t n_kv,
                          const owl_gguf_out_tensor *tensors, uint64_t n_tensors, uint64_t alignment, owl_error *err);

/* The same, with the data of tensors whose data is NULL computed as they are
   written (merging), so that one made tensor at a time is held in memory:
   make fills dst with tensors[index].n_bytes bytes. */
typedef owl_status (*owl_gguf_make_fn)(void *ctx, uint64_t index, void *dst, owl_error *err);
owl_status owl_gguf_write_made(const char *path, uint32_t version, const owl_gguf_kv *kv, uint64_t n_kv,
                               const owl_gguf_out_tensor *tensors, uint64_t n_tensors, uint64_t alignment,
                               owl_gguf_make_fn make, void *make_ctx, owl_error *err);

/* Fills the model description from a parsed GGUF (formats/gguf_model.c). */
owl_status owl_gguf_describe(owl_model *m, owl_gguf *g, int file, owl_error *err);

#endif
