/* safetensors.c: reads one safetensors file from memory. Every header field
 * is checked before use: the header length against the file and a cap, each
 * shape (overflow-checked) against its byte range, each range against the
 * data section, and the ranges against one another. */
#include "formats/safetensors.h"

#include <stdio.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "core/utf8.h"
#include "formats/json_fields.h"
#include "model/dtype.h"

static const struct {
    const char *name;
    int dtype;
} dtypes[] = {
    {"F64", OWL_F64}, {"F32", OWL_F32}, {"F16", OWL_F16}, {"BF16", OWL_BF16}, {"I64", OWL_I64},
    {"I32", OWL_I32}, {"I16", OWL_I16}, {"I8", OWL_I8},   {"U8", OWL_U8},
};
#define SUPPORTED_LIST "F64, F32, F16, BF16, I64, I32, I16, I8, U8"

/* Where the file and tensor being read are, for messages. */
typedef struct entry_ctx {
    const char *path;
    char name[160]; /* printable tensor name */
    owl_error *err;
} entry_ctx;

static owl_status entry_fail(const entry_ctx *c, owl_status st, const char *what) {
    return owl_fail(c->err, st, "%s: tensor '%s': %s", c->path, c->name, what);
}

static void format_dims(const uint64_t *dims, int rank, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static owl_status read_dtype(const entry_ctx *c, const json_t *v, int *dtype) {
    char found[96], msg[256];
    if (!json_is_string(v)) {
        snprintf(msg, sizeof msg, "dtype: expected a string, found %s", owl_json_describe(v, found, sizeof found));
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(json_string_value(v), dtypes[i].name) == 0) {
            *dtype = dtypes[i].dtype;
            return OWL_OK;
        }
    snprintf(msg, sizeof msg, "dtype %s is not supported (owl reads " SUPPORTED_LIST ")",
             owl_printable(json_string_value(v), found, sizeof found));
    return entry_fail(c, OWL_ERR_UNSUPPORTED, msg);
}

/* Reads a JSON array of non-negative integers of length lo..hi into out. */
static owl_status read_uints(const entry_ctx *c, const json_t *v, const char *field, size_t lo, size_t hi,
                             uint64_t *out, size_t *n) {
    char found[96], msg[320];
    if (!json_is_array(v)) {
        snprintf(msg, sizeof msg, "%s: expected an array of integers, found %s", field,
                 owl_json_describe(v, found, sizeof found));
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    size_t len = json_array_size(v);
    if (len < lo || len > hi) {
        if (lo == hi) snprintf(msg, sizeof msg, "%s: expected %zu integers, found %zu", field, lo, len);
        else
            snprintf(msg, sizeof msg, "%s: rank %zu is above owl's limit of %zu dimensions (OWL_MAX_DIMS)", field,
                     len, hi);
        return entry_fail(c, lo == hi ? OWL_ERR_INPUT : OWL_ERR_UNSUPPORTED, msg);
    }
    for (size_t i = 0; i < len; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0) {
            snprintf(msg, sizeof msg, "%s[%zu]: expected a non-negative integer, found %s", field, i,
                     owl_json_describe(x, found, sizeof found));
            return entry_fail(c, OWL_ERR_INPUT, msg);
        }
        out[i] = (uint64_t)json_integer_value(x);
    }
    *n = len;
    return OWL_OK;
}

/* Checks one header entry and appends its tensor. */
static owl_status add_entry(owl_model *m, int file, const char *key, const json_t *entry, const uint8_t *data,
                            uint64_t data_start, uint64_t data_size, entry_ctx *c) {
    char found[96], msg[512];
    size_t key_len = strlen(key);
    owl_printable(key, c->name, sizeof c->name);
    if (key_len == 0 || key_len > OWL_SAFETENSORS_MAX_NAME) {
        snprintf(msg, sizeof msg, "name is %zu bytes long (expected 1 to %d)", key_len, OWL_SAFETENSORS_MAX_NAME);
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    if (!json_is_object(entry)) {
        snprintf(msg, sizeof msg, "expected an object with dtype, shape and data_offsets, found %s",
                 owl_json_describe(entry, found, sizeof found));
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    const char *field;
    json_t *value;
    json_object_foreach((json_t *)entry, field, value) {
        (void)value;
        if (strcmp(field, "dtype") && strcmp(field, "shape") && strcmp(field, "data_offsets")) {
            snprintf(msg, sizeof msg, "unexpected field '%s' (an entry holds dtype, shape and data_offsets)",
                     owl_printable(field, found, sizeof found));
            return entry_fail(c, OWL_ERR_INPUT, msg);
        }
    }
    static const char *const required[] = {"dtype", "shape", "data_offsets"};
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(entry, required[i])) {
            snprintf(msg, sizeof msg, "missing field '%s'", required[i]);
            return entry_fail(c, OWL_ERR_INPUT, msg);
        }

    owl_tensor t = {0};
    uint64_t dims[OWL_MAX_DIMS], offs[2];
    size_t rank, n_offs;
    owl_status st;
    if ((st = read_dtype(c, json_object_get(entry, "dtype"), &t.dtype)) ||
        (st = read_uints(c, json_object_get(entry, "shape"), "shape", 0, OWL_MAX_DIMS, dims, &rank)) ||
        (st = read_uints(c, json_object_get(entry, "data_offsets"), "data_offsets", 2, 2, offs, &n_offs)))
        return st;

    /* element count: 0 if any dimension is 0 (whatever the others), else the overflow-checked product */
    char shape[160];
    format_dims(dims, (int)rank, shape, sizeof shape);
    uint64_t n = 1;
    for (size_t i = 0; i < rank; i++)
        if (dims[i] == 0) n = 0;
    for (size_t i = 0; i < rank && n; i++)
        if (!owl_mul_u64(n, dims[i], &n)) {
            snprintf(msg, sizeof msg, "shape %s has more elements than fit in 64 bits", shape);
            return entry_fail(c, OWL_ERR_INPUT, msg);
        }
    uint64_t need;
    if (owl_dtype_bytes(t.dtype, n, &need) != OWL_OK) {
        snprintf(msg, sizeof msg, "shape %s of %s needs more bytes than fit in 64 bits", shape,
                 owl_dtype_name(t.dtype));
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    uint64_t begin = offs[0], end = offs[1];
    if (begin > end) {
        snprintf(msg, sizeof msg, "data_offsets [%llu, %llu] are reversed (begin after end)",
                 (unsigned long long)begin, (unsigned long long)end);
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    if (end > data_size) {
        snprintf(msg, sizeof msg, "data_offsets [%llu, %llu] run past the end of the data section (%llu bytes)",
                 (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_size);
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }
    if (end - begin != need) {
        snprintf(msg, sizeof msg, "data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s needs %llu",
                 (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin), shape,
                 owl_dtype_name(t.dtype), (unsigned long long)need);
        return entry_fail(c, OWL_ERR_INPUT, msg);
    }

    /* safetensors shapes are row-major, outermost first; ggml order is the reverse */
    t.n_dims = (int)rank;
    for (int i = 0; i < OWL_MAX_DIMS; i++) t.ne[i] = 1;
    for (size_t i = 0; i < rank; i++) t.ne[i] = dims[rank - 1 - i];
    t.n_elements = n;
    t.n_bytes = need;
    t.offset = data_start + begin; /* cannot overflow: end <= data_size and data_start + data_size == file size */
    t.data = data + t.offset;
    t.file = file;
    if (!(t.source_name = owl_model_strndup(m, key, key_len)))
        return owl_fail(c->err, OWL_ERR_NOMEM, "%s: out of memory", c->path);
    t.name = t.source_name;
    return owl_model_add_tensor(m, &t, c->err);
}

/* __metadata__ is a string -> string map in the format's definition; null
   (MLX writes it) means none, as in the reference reader's Option<HashMap>. */
static owl_status check_metadata(const json_t *meta, const char *path, owl_error *err) {
    char found[96], key_text[96];
    if (json_is_null(meta)) return OWL_OK;
    if (!json_is_object(meta))
        return owl_fail(err, OWL_ERR_INPUT, "%s: __metadata__: expected an object of strings, found %s", path,
                        owl_json_describe(meta, found, sizeof found));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        if (!json_is_string(v))
            return owl_fail(err, OWL_ERR_INPUT, "%s: __metadata__: value of '%s' is %s, expected a string", path,
                            owl_printable(key, key_text, sizeof key_text), owl_json_describe(v, found, sizeof found));
    }
    return OWL_OK;
}

owl_status owl_safetensors_parse(owl_model *m, int file, const uint8_t *data, uint64_t size, const char *path,
                                 json_t **meta, owl_error *err) {
    if (meta) *meta = NULL;
    if (size < 8)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu bytes, too short for the 8-byte header length", path,
                        (unsigned long long)size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | data[i];
    if (n > OWL_SAFETENSORS_MAX_HEADER)
        return owl_fail(err, OWL_ERR_INPUT, "%s: header length %llu is too large (owl accepts up to %llu bytes)", path,
                        (unsigned long long)n, OWL_SAFETENSORS_MAX_HEADER);
    if (n > size - 8)
        return owl_fail(err, OWL_ERR_INPUT,
                        "%s: header length %llu runs past the end of the file (%llu bytes follow the length field)",
                        path, (unsigned long long)n, (unsigned long long)(size - 8));
    const char *header = (const char *)data + 8;
    if (!owl_utf8_valid(header, (size_t)n))
        return owl_fail(err, OWL_ERR_INPUT, "%s: header is not valid UTF-8", path);
    json_error_t je;
    json_t *root = json_loadb(header, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return owl_fail(err, OWL_ERR_INPUT, "%s: header is not valid JSON (line %d, column %d, file byte %llu): %s%s",
                        path, je.line, je.column, (unsigned long long)(8 + (uint64_t)(je.position > 0 ? je.position : 0)),
                        je.text,
                        strstr(je.text, "too big") ? " (owl reads shape and offset values up to 2^63-1)" : "");
    char found[96];
    owl_status st = OWL_OK;
    if (!json_is_object(root)) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: header must be a JSON object of tensors, found %s", path,
                      owl_json_describe(root, found, sizeof found));
    } else if (json_object_size(root) > (size_t)OWL_MAX_TENSORS + 1) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: header lists %zu entries, more than the %u tensors owl accepts", path,
                      json_object_size(root), OWL_MAX_TENSORS);
    }
    uint64_t data_start = 8 + n, data_size = size - data_start;
    entry_ctx c = {.path = path, .err = err};
    const char *key;
    json_t *entry;
    if (st == OWL_OK) json_object_foreach(root, key, entry) {
        if (strcmp(key, "__metadata__") == 0) st = check_metadata(entry, path, err);
        else st = add_entry(m, file, key, entry, data, data_start, data_size, &c);
        if (st) break;
    }
    if (st == OWL_OK) st = owl_model_check_layout(m, file, data_start, size, err);
    if (st == OWL_OK && meta) {
        json_t *md = json_object_get(root, "__metadata__");
        *meta = json_is_object(md) ? json_incref(md) : NULL;
    }
    json_decref(root);
    return st;
}

owl_status owl_safetensors_load(owl_model *m, const char *path, const char *role, json_t **meta, owl_error *err) {
    owl_mapped_file map;
    if (meta) *meta = NULL;
    owl_status st = owl_map_file(path, &map, err);
    if (st) return st;
    int file = owl_model_add_file(m, path, role, &map, 0, err);
    if (file < 0) {
        owl_unmap_file(&map); /* not taken over */
        return err ? err->status : OWL_ERR_NOMEM;
    }
    const owl_mapped_file *f = &m->maps[file];
    return owl_safetensors_parse(m, file, f->data, f->size, m->files[file].path, meta, err);
}
