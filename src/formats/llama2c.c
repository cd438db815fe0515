/* llama2c.c: llama2.c checkpoints as run.c / runq.c read them and export.py
 * writes them (v0 and v1 float, v2 int8 with grouped scales): sizes must match
 * the header to the byte; also finds or recognises the tokenizer .bin. */
#define _POSIX_C_SOURCE 200809L
#include "formats/llama2c.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "formats/tokenizer_files.h"

/* Caps far above any llama2.c model, there only to refuse absurd headers;
   their products can still pass 2^64, which walk() checks step by step. */
#define MAX_DIM (1 << 20)
#define MAX_HIDDEN (1 << 30)
#define MAX_LAYERS 4096
#define MAX_VOCAB (1 << 24)
#define MAX_SEQ (1 << 24)
#define MAX_GROUP (1 << 20)

typedef struct header {
    int version;          /* 0 (no magic), 1, 2 */
    int64_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    int64_t head_size, kv_dim, group;
    int shared;           /* classifier is the token embedding */
    uint64_t header_bytes;
} header;

/* The tensors of a llama2.c model; the order a version writes them in is a
   list of these. FREQ_CIS is v0's legacy RoPE table: skipped, not a tensor. */
enum kind { EMBD, ATTN_NORM, WQ, WK, WV, WO, FFN_NORM, W1, W2, W3, OUT_NORM, FREQ_CIS, WCLS, END };

static const struct {
    const char *name;   /* canonical; per-layer ones get the "blk.N." prefix */
    const char *source; /* run.c's TransformerWeights field */
    int per_layer, is_matrix;
} kinds[] = {
    [EMBD] = {"token_embd.weight", "token_embedding_table", 0, 1},
    [ATTN_NORM] = {"attn_norm.weight", "rms_att_weight", 1, 0},
    [WQ] = {"attn_q.weight", "wq", 1, 1},
    [WK] = {"attn_k.weight", "wk", 1, 1},
    [WV] = {"attn_v.weight", "wv", 1, 1},
    [WO] = {"attn_output.weight", "wo", 1, 1},
    [FFN_NORM] = {"ffn_norm.weight", "rms_ffn_weight", 1, 0},
    [W1] = {"ffn_gate.weight", "w1", 1, 1},
    [W2] = {"ffn_down.weight", "w2", 1, 1},
    [W3] = {"ffn_up.weight", "w3", 1, 1},
    [OUT_NORM] = {"output_norm.weight", "rms_final_weight", 0, 0},
    [FREQ_CIS] = {NULL, "freq_cis", 0, 0},
    [WCLS] = {"output.weight", "wcls", 0, 1},
};

/* export.py legacy_export / version1_export / version2_export */
static const int order_v0[] = {EMBD, ATTN_NORM, WQ, WK, WV, WO, FFN_NORM, W1, W2, W3, OUT_NORM, FREQ_CIS, WCLS, END};
static const int order_v1[] = {ATTN_NORM, FFN_NORM, OUT_NORM, EMBD, WQ, WK, WV, WO, W1, W2, W3, WCLS, END};

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le_i32(const uint8_t *p) { return (int64_t)le32(p) - (le32(p) > INT32_MAX ? (1ll << 32) : 0); }

/* Shape in ggml order: ne[0] is the row length as stored (PyTorch's in_features). */
static void shape_of(const header *h, int k, uint64_t ne[2], int *n_dims) {
    uint64_t dim = (uint64_t)h->dim, hidden = (uint64_t)h->hidden, kv = (uint64_t)h->kv_dim, vocab = (uint64_t)h->vocab;
    *n_dims = 2;
    switch (k) {
    case EMBD: case WCLS: ne[0] = dim, ne[1] = vocab; break;
    case WQ: case WO: ne[0] = dim, ne[1] = dim; break;
    case WK: case WV: ne[0] = dim, ne[1] = kv; break;
    case W1: case W3: ne[0] = dim, ne[1] = hidden; break;
    case W2: ne[0] = hidden, ne[1] = dim; break;
    default: ne[0] = dim, ne[1] = 1, *n_dims = 1; break;
    }
}

static owl_status field_range(const char *path, const char *name, int64_t v, int64_t lo, int64_t hi, owl_error *err) {
    if (v >= lo && v <= hi) return OWL_OK;
    return owl_fail(err, OWL_ERR_INPUT, "%s: llama2.c header: %s %lld is out of range (expected %lld..%lld)", path, name,
                    (long long)v, (long long)lo, (long long)hi);
}

/* Validates the 7 config ints shared by every version. */
static owl_status check_config(header *h, const char *path, owl_error *err) {
    owl_status st;
    int64_t vocab_lo = h->version == 0 ? -MAX_VOCAB : 1;
    if ((st = field_range(path, "dim", h->dim, 1, MAX_DIM, err)) ||
        (st = field_range(path, "hidden_dim", h->hidden, 1, MAX_HIDDEN, err)) ||
        (st = field_range(path, "n_layers", h->n_layers, 1, MAX_LAYERS, err)) ||
        (st = field_range(path, "n_heads", h->n_heads, 1, h->dim, err)) ||
        (st = field_range(path, "n_kv_heads", h->n_kv_heads, 1, h->n_heads, err)) ||
        (st = field_range(path, "vocab_size", h->vocab, vocab_lo, MAX_VOCAB, err)) ||
        (st = field_range(path, "seq_len", h->seq_len, 1, MAX_SEQ, err)))
        return st;
    if (h->vocab == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: llama2.c header: vocab_size is 0", path);
    if (h->version == 0) { /* v0 flags an unshared classifier with a negative vocabulary size */
        h->shared = h->vocab > 0;
        if (h->vocab < 0) h->vocab = -h->vocab;
    }
    if (h->dim % h->n_heads)
        return owl_fail(err, OWL_ERR_INPUT, "%s: llama2.c header: n_heads %lld does not divide dim %lld", path,
                        (long long)h->n_heads, (long long)h->dim);
    if (h->n_heads % h->n_kv_heads)
        return owl_fail(err, OWL_ERR_INPUT, "%s: llama2.c header: n_kv_heads %lld does not divide n_heads %lld", path,
                        (long long)h->n_kv_heads, (long long)h->n_heads);
    h->head_size = h->dim / h->n_heads;
    h->kv_dim = h->head_size * h->n_kv_heads;
    if (h->head_size % 2)
        return owl_fail(err, OWL_ERR_INPUT, "%s: llama2.c header: head size %lld (dim / n_heads) is odd; RoPE rotates pairs",
                        path, (long long)h->head_size);
    return OWL_OK;
}

/* Reads and checks the header (any version); nothing is sized yet. */
static owl_status read_header(const uint8_t *data, uint64_t size, const char *path, header *h, owl_error *err) {
    memset(h, 0, sizeof *h);
    const uint8_t *cfg = data;
    if (size >= 4 && le32(data) == OWL_LLAMA2C_MAGIC) {
        if (size < OWL_LLAMA2C_V1_HEADER)
            return owl_fail(err, OWL_ERR_INPUT, "%s: truncated header: %llu bytes, an \"ak42\" llama2.c header is %d", path,
                            (unsigned long long)size, OWL_LLAMA2C_V1_HEADER);
        int64_t version = le_i32(data + 4);
        if (version != 1 && version != 2)
            return owl_fail(err, OWL_ERR_UNSUPPORTED,
                            "%s: llama2.c export version %lld is not supported (owl reads versions 0, 1 and 2)", path,
                            (long long)version);
        h->version = (int)version;
        h->header_bytes = OWL_LLAMA2C_V1_HEADER;
        cfg = data + 8;
        uint8_t flag = data[36];
        if (flag > 1)
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte 36: shared_classifier is %u (expected 0 or 1)", path, flag);
        h->shared = flag;
        size_t used = 37;
        if (version == 2) {
            h->group = le_i32(data + 37);
            used = 41;
            if (h->group < 1 || h->group > MAX_GROUP)
                return owl_fail(err, OWL_ERR_INPUT, "%s: byte 37: group_size %lld is out of range (expected 1..%d)", path,
                                (long long)h->group, MAX_GROUP);
        }
        for (size_t i = used; i < OWL_LLAMA2C_V1_HEADER; i++)
            if (data[i])
                return owl_fail(err, OWL_ERR_INPUT,
                                "%s: byte %zu: header padding is 0x%02x (the bytes after the version %lld fields must be zero)",
                                path, i, data[i], (long long)version);
    } else {
        if (size < OWL_LLAMA2C_V0_HEADER)
            return owl_fail(err, OWL_ERR_INPUT, "%s: truncated header: %llu bytes, a llama2.c checkpoint header is %d", path,
                            (unsigned long long)size, OWL_LLAMA2C_V0_HEADER);
        h->header_bytes = OWL_LLAMA2C_V0_HEADER;
    }
    h->dim = le_i32(cfg);
    h->hidden = le_i32(cfg + 4);
    h->n_layers = le_i32(cfg + 8);
    h->n_heads = le_i32(cfg + 12);
    h->n_kv_heads = le_i32(cfg + 16);
    h->vocab = le_i32(cfg + 20);
    h->seq_len = le_i32(cfg + 24);
    return check_config(h, path, err);
}

static owl_status add_tensor(owl_model *m, int file, const uint8_t *data, const char *name, const char *source,
                             int dtype, const uint64_t ne[2], int n_dims, uint64_t n, uint64_t bytes, uint64_t off,
                             unsigned flags, owl_error *err) {
    owl_tensor t = {0};
    t.name = owl_model_strdup(m, name);
    t.source_name = owl_model_strdup(m, source);
    if (!t.name || !t.source_name) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    t.dtype = dtype;
    t.n_dims = n_dims;
    t.ne[0] = ne[0];
    t.ne[1] = ne[1];
    t.ne[2] = t.ne[3] = 1;
    t.n_elements = n;
    t.n_bytes = bytes;
    t.offset = off;
    t.data = data + off;
    t.file = file;
    t.flags = flags;
    return owl_model_add_tensor(m, &t, err);
}

/* Walks the file layout of h. With m == NULL it only sizes the file (every
   step overflow-checked); with m it adds the tensors, whose offsets the sizing
   pass has already proven to fit. */
static owl_status walk(const header *h, owl_model *m, int file, const uint8_t *data, uint64_t *total, const char *path,
                       owl_error *err) {
    const int *order = h->version == 0 ? order_v0 : order_v1;
    uint64_t off = h->header_bytes;
    for (const int *k = order; *k != END; k++) {
        if (*k == WCLS && h->shared) continue;
        if (*k == FREQ_CIS) { /* freq_cis_real and freq_cis_imag, [seq_len, head_size / 2] each */
            uint64_t b;
            if (!owl_mul_u64((uint64_t)h->seq_len, (uint64_t)h->head_size * 4, &b) || !owl_add_u64(off, b, &off))
                goto overflow;
            continue;
        }
        int64_t reps = kinds[*k].per_layer ? h->n_layers : 1;
        for (int64_t l = 0; l < reps; l++) {
            uint64_t ne[2], n, bytes;
            int n_dims;
            shape_of(h, *k, ne, &n_dims);
            if (!owl_mul_u64(ne[0], ne[1], &n)) goto overflow;
            char name[96], source[96];
            if (kinds[*k].per_layer) {
                snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, kinds[*k].name);
                snprintf(source, sizeof source, "%s[%lld]", kinds[*k].source, (long long)l);
            } else {
                snprintf(name, sizeof name, "%s", kinds[*k].name);
                snprintf(source, sizeof source, "%s", kinds[*k].source);
            }
            if (h->version == 2 && kinds[*k].is_matrix) {
                /* runq.c QuantizedTensor: int8 q[n], then f32 s[n / group_size] */
                if (n % (uint64_t)h->group)
                    return owl_fail(err, OWL_ERR_INPUT,
                                    "%s: tensor %s has %llu elements, not a multiple of group_size %lld", path, source,
                                    (unsigned long long)n, (long long)h->group);
                uint64_t groups = n / (uint64_t)h->group, q_off = off, s_off;
                if (groups > UINT64_MAX / 4 || !owl_add_u64(off, n, &s_off) || !owl_add_u64(s_off, groups * 4, &off))
                    goto overflow;
                if (m) {
                    owl_status st;
                    char sname[128], ssource[128];
                    uint64_t sne[2] = {groups, 1};
                    snprintf(sname, sizeof sname, "%s.scales", name);
                    snprintf(ssource, sizeof ssource, "%s.s", source);
                    if ((st = add_tensor(m, file, data, name, source, OWL_I8, ne, n_dims, n, n, q_off, 0, err)) ||
                        (st = add_tensor(m, file, data, sname, ssource, OWL_F32, sne, 1, groups, groups * 4, s_off,
                                         OWL_TENSOR_AUX, err)))
                        return st;
                }
            } else {
                if (!owl_mul_u64(n, 4, &bytes)) goto overflow;
                if (m) {
                    owl_status st = add_tensor(m, file, data, name, source, OWL_F32, ne, n_dims, n, bytes, off, 0, err);
                    if (st) return st;
                }
                if (!owl_add_u64(off, bytes, &off)) goto overflow;
            }
        }
    }
    *total = off;
    return OWL_OK;
overflow:
    return owl_fail(err, OWL_ERR_INPUT,
                    "%s: llama2.c header: the tensor sizes overflow 64 bits (dim %lld, hidden_dim %lld, n_layers %lld, "
                    "vocab_size %lld)",
                    path, (long long)h->dim, (long long)h->hidden, (long long)h->n_layers, (long long)h->vocab);
}

static owl_status check_size(const header *h, uint64_t size, const char *path, owl_error *err) {
    uint64_t total;
    owl_status st = walk(h, NULL, -1, NULL, &total, path, err);
    if (st) return st;
    if (total != size)
        return owl_fail(err, OWL_ERR_INPUT,
                        "%s: expected %llu bytes for this llama2.c v%d header (dim %lld, hidden_dim %lld, n_layers %lld, "
                        "n_heads %lld, n_kv_heads %lld, vocab_size %lld%s, seq_len %lld%s), file has %llu",
                        path, (unsigned long long)total, h->version, (long long)h->dim, (long long)h->hidden,
                        (long long)h->n_layers, (long long)h->n_heads, (long long)h->n_kv_heads, (long long)h->vocab,
                        h->shared ? "" : " unshared", (long long)h->seq_len,
                        h->version == 2 ? ", int8" : "", (unsigned long long)size);
    return OWL_OK;
}

static json_t *header_json(const header *h) {
    json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "format", "llama2.c", "version",
                          h->version, "dim", (json_int_t)h->dim, "hidden_dim", (json_int_t)h->hidden, "n_layers",
                          (json_int_t)h->n_layers, "n_heads", (json_int_t)h->n_heads, "n_kv_heads",
                          (json_int_t)h->n_kv_heads, "vocab_size", (json_int_t)h->vocab, "seq_len",
                          (json_int_t)h->seq_len, "shared_classifier", h->shared);
    if (o && h->version == 2) json_object_set_new(o, "group_size", json_integer(h->group));
    return o;
}

/* Fills the description from a checked header; file is the registered source. */
static owl_status describe(owl_model *m, const header *h, int file, const uint8_t *data, uint64_t size,
                           owl_error *err) {
    const char *path = m->files[file].path;
    owl_model_info *in = &m->info;
    in->format = h->version == 2 ? OWL_FORMAT_LLAMA2C_INT8 : OWL_FORMAT_LLAMA2C;
    in->architecture = "llama2.c";
    in->family = "llama";
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    in->name = owl_model_strndup(m, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
    owl_hparams *hp = &in->hp;
    hp->n_vocab = h->vocab;
    hp->n_ctx_train = h->seq_len;
    hp->n_embd = h->dim;
    hp->n_layer = h->n_layers;
    hp->n_head = h->n_heads;
    hp->n_head_kv = h->n_kv_heads;
    hp->head_dim = h->head_size;
    hp->n_ff = h->hidden;
    hp->n_rot = h->head_size;
    hp->quant_group_size = h->version == 2 ? h->group : 0;
    hp->norm_eps = 1e-5;     /* model.py ModelArgs.norm_eps; run.c rmsnorm */
    hp->rope_theta = 10000.0; /* run.c: 1 / powf(10000, head_dim / head_size) */
    hp->rope_style = OWL_ROPE_INTERLEAVED;
    hp->tied_embeddings = h->shared;
    if (!m->metadata) m->metadata = header_json(h);
    uint64_t total;
    owl_status st = walk(h, m, file, data, &total, path, err);
    if (st) return st;
    return owl_model_check_layout(m, file, h->header_bytes, size, err);
}

owl_status owl_llama2c_parse(owl_model *m, const uint8_t *data, uint64_t size, const char *path, owl_error *err) {
    header h;
    owl_status st = read_header(data, size, path, &h, err);
    if (st || (st = check_size(&h, size, path, err))) return st;
    int file = owl_model_add_file(m, path, "weights", NULL, size, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    return describe(m, &h, file, data, size, err);
}

/* ---- the tokenizer beside a checkpoint ----------------------------------- */

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

#define MAX_CANDIDATES 64

/* llama2.c keeps several models and tokenizers in one directory (tokenizer.bin
   for the 32k-vocabulary models, tok512.bin for stories260K), so candidates
   are tried in order and the first whose records fit this checkpoint's
   vocabulary exactly wins: tok{vocab}.bin, tokenizer.bin, then any other
   *tok*.bin by name. One that does not fit belongs to another model. */
static size_t list_candidates(const char *dir, const char *self, int64_t vocab, char **names) {
    size_t n = 0;
    char first[64];
    snprintf(first, sizeof first, "tok%lld.bin", (long long)vocab);
    const char *fixed[] = {first, "tokenizer.bin"};
    for (size_t i = 0; i < 2; i++)
        if (strcmp(fixed[i], self) != 0 && (names[n] = strdup(fixed[i]))) n++;
    size_t fixed_n = n;
    DIR *d = opendir(dir);
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_CANDIDATES) {
        const char *s = e->d_name;
        if (!strstr(s, "tok") || !ends_with(s, ".bin") || strcmp(s, self) == 0 || strcmp(s, first) == 0 ||
            strcmp(s, "tokenizer.bin") == 0)
            continue;
        if ((names[n] = strdup(s))) n++;
    }
    closedir(d);
    qsort(names + fixed_n, n - fixed_n, sizeof *names, by_string);
    return n;
}

static owl_status load_sibling_tokenizer(owl_model *m, const char *path, int64_t vocab, owl_error *err) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("./");
    if (!dir) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    char *names[MAX_CANDIDATES];
    size_t n = list_candidates(dir, slash ? slash + 1 : path, vocab, names);
    owl_status st = OWL_OK;
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = done ? NULL : owl_path_join(dir, names[i]);
        owl_mapped_file map;
        uint64_t count;
        owl_error ignored;
        if (p && owl_path_exists(p) && owl_map_file(p, &map, &ignored) == OWL_OK) {
            if (owl_llama2c_tokenizer_scan(map.data, map.size, (uint64_t)vocab, &count, p, &ignored) == OWL_OK) {
                int file = owl_tokenizer_add_file(m, p, &map, 0, err);
                st = file < 0 ? (err ? err->status : OWL_ERR_NOMEM)
                              : owl_llama2c_tokenizer_fill(m, m->maps[file].data, count, m->files[file].path, err);
                done = 1;
            } else {
                owl_unmap_file(&map);
            }
        }
        free(p);
        free(names[i]);
    }
    free(dir);
    return st;
}

owl_status owl_load_llama2c(owl_model *m, const char *path, owl_error *err) {
    owl_mapped_file map;
    owl_status st = owl_map_file(path, &map, err);
    if (st) return st;
    header h;
    st = read_header(map.data, map.size, path, &h, err);
    if (!st) st = check_size(&h, map.size, path, err);
    if (st) {
        /* Not a checkpoint. llama2.c tokenizer files carry no magic either:
           take the file as one only if it parses as one completely. */
        uint64_t count;
        owl_error tok_err;
        if (st == OWL_ERR_INPUT && owl_llama2c_tokenizer_scan(map.data, map.size, 0, &count, path, &tok_err) == OWL_OK) {
            int file = owl_tokenizer_add_file(m, path, &map, 0, err);
            if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
            owl_tokenizer_set_format(m, OWL_FORMAT_LLAMA2C_TOKENIZER);
            owl_error_clear(err); /* the checkpoint complaint no longer applies */
            return owl_llama2c_tokenizer_fill(m, m->maps[file].data, count, m->files[file].path, err);
        }
        owl_unmap_file(&map);
        return st;
    }
    int file = owl_model_add_file(m, path, "weights", &map, 0, err);
    if (file < 0) {
        owl_unmap_file(&map);
        return err ? err->status : OWL_ERR_NOMEM;
    }
    if ((st = describe(m, &h, file, m->maps[file].data, m->maps[file].size, err))) return st;
    return load_sibling_tokenizer(m, path, h.vocab, err);
}
