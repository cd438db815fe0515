/* model.c: lifetime of an owl_model (arena, files, tensor list) and the
 * builder calls format loaders use to fill in the description. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "model/dtype.h"

struct owl_arena_chunk {
    owl_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

owl_model *owl_model_new(void) {
    owl_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->info.family = "unknown";
    m->info.tokenizer.kind = "none";
    m->info.tokenizer.add_bos = -1;
    m->info.tokenizer.add_eos = -1;
    m->vocab.space_prefix = -1;
    m->vocab.strip_space = -1;
    return m;
}

void *owl_model_alloc(owl_model *m, size_t bytes) {
    size_t need = (bytes + 15) & ~(size_t)15;
    if (need < bytes) return NULL;
    owl_arena_chunk *c = m->arena;
    if (!c || c->size - c->used < need) {
        size_t size = need > (1u << 16) ? need : (1u << 16);
        if (m->arena_bytes + size > OWL_ARENA_CAP) return NULL;
        c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->next = m->arena;
        c->size = size;
        c->used = 0;
        m->arena = c;
        m->arena_bytes += size;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, bytes);
    return p;
}

char *owl_model_strndup(owl_model *m, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *d = owl_model_alloc(m, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *owl_model_strdup(owl_model *m, const char *s) {
    return s ? owl_model_strndup(m, s, strlen(s)) : NULL;
}

/* Grows a heap array of `size`-byte items to hold at least n+1 items. */
static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t max) {
    if (n < *cap) return 1;
    if (n >= max) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > max) nc = max;
    void *p = realloc(*arr, nc * size);
    if (!p) return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

int owl_model_add_file(owl_model *m, const char *path, const char *role, owl_mapped_file *map, uint64_t size, owl_error *err) {
    size_t cap = m->cap_files;
    if (!grow((void **)&m->files, &cap, m->n_files, sizeof *m->files, OWL_MAX_FILES) ||
        !grow((void **)&m->maps, &m->cap_files, m->n_files, sizeof *m->maps, OWL_MAX_FILES)) {
        owl_fail(err, OWL_ERR_NOMEM, "%s: too many source files (limit %d)", path, OWL_MAX_FILES);
        return -1;
    }
    if (cap > m->cap_files) m->cap_files = cap; /* both arrays grew in step */
    owl_source_file *f = &m->files[m->n_files];
    f->path = owl_model_strdup(m, path);
    if (!f->path) { /* the caller still owns map, so nothing leaks */
        owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        return -1;
    }
    f->role = role;
    f->size = map ? map->size : size;
    if (map) {
        m->maps[m->n_files] = *map;
        memset(map, 0, sizeof *map);
    } else {
        memset(&m->maps[m->n_files], 0, sizeof m->maps[0]);
    }
    return (int)m->n_files++;
}

owl_status owl_model_add_tensor(owl_model *m, const owl_tensor *t, owl_error *err) {
    if (!grow((void **)&m->tensors, &m->cap_tensors, m->n_tensors, sizeof *m->tensors, OWL_MAX_TENSORS))
        return owl_fail(err, OWL_ERR_NOMEM, "too many tensors (limit %u)", OWL_MAX_TENSORS);
    m->tensors[m->n_tensors++] = *t;
    return OWL_OK;
}

owl_status owl_model_add_special(owl_model *m, const char *role, int64_t id, owl_error *err) {
    if (!grow((void **)&m->special, &m->cap_special, m->n_special, sizeof *m->special, 64))
        return owl_fail(err, OWL_ERR_NOMEM, "too many special tokens");
    for (size_t i = 0; i < m->n_special; i++)
        if (strcmp(m->special[i].role, role) == 0) {
            m->special[i].id = id;
            return OWL_OK;
        }
    m->special[m->n_special++] = (owl_special_token){role, id, NULL};
    return OWL_OK;
}

/* Sorting works on arrays of tensor pointers: C11's qsort has no context
 * argument, and a file-scope "current array" would race when two threads
 * open models at once. */
static int by_offset(const void *a, const void *b) {
    const owl_tensor *x = *(const owl_tensor *const *)a, *y = *(const owl_tensor *const *)b;
    if (x->offset != y->offset) return (x->offset > y->offset) - (x->offset < y->offset);
    /* empty tensors first, so one placed where another starts is no overlap */
    return (x->n_bytes > y->n_bytes) - (x->n_bytes < y->n_bytes);
}

owl_status owl_model_check_layout(owl_model *m, int file, uint64_t data_start, uint64_t data_end, owl_error *err) {
    size_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++) n += m->tensors[i].file == file;
    if (!n) return OWL_OK;
    const owl_tensor **idx = malloc(n * sizeof *idx);
    if (!idx) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    n = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].file == file) idx[n++] = &m->tensors[i];
    qsort(idx, n, sizeof *idx, by_offset);
    const char *path = m->files[file].path;
    owl_status st = OWL_OK;
    for (size_t k = 0; k < n && st == OWL_OK; k++) {
        const owl_tensor *t = idx[k];
        if (t->offset < data_start || !owl_range_ok(t->offset, t->n_bytes, data_end)) {
            st = owl_fail(err, OWL_ERR_INPUT,
                          "%s: tensor '%s' occupies bytes [%llu, %llu+%llu), outside the data section [%llu, %llu)", path,
                          t->source_name, (unsigned long long)t->offset, (unsigned long long)t->offset,
                          (unsigned long long)t->n_bytes, (unsigned long long)data_start, (unsigned long long)data_end);
        } else if (k > 0) {
            const owl_tensor *p = idx[k - 1];
            if (p->offset + p->n_bytes > t->offset)
                st = owl_fail(err, OWL_ERR_INPUT, "%s: tensors '%s' (bytes %llu..%llu) and '%s' (from byte %llu) overlap",
                              path, p->source_name, (unsigned long long)p->offset,
                              (unsigned long long)(p->offset + p->n_bytes), t->source_name,
                              (unsigned long long)t->offset);
        }
    }
    free(idx);
    return st;
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(const owl_tensor *const *)a)->name, (*(const owl_tensor *const *)b)->name);
}

owl_status owl_model_finish(owl_model *m, owl_error *err) {
    if (m->n_tensors) {
        const owl_tensor **order = malloc(m->n_tensors * sizeof *order);
        m->sorted = malloc(m->n_tensors * sizeof *m->sorted);
        if (!order || !m->sorted) {
            free(order);
            return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < m->n_tensors; i++) order[i] = &m->tensors[i];
        qsort(order, m->n_tensors, sizeof *order, by_name);
        for (size_t i = 0; i < m->n_tensors; i++) m->sorted[i] = (size_t)(order[i] - m->tensors);
        free(order);
        for (size_t i = 1; i < m->n_tensors; i++) {
            const owl_tensor *a = &m->tensors[m->sorted[i - 1]], *b = &m->tensors[m->sorted[i]];
            if (strcmp(a->name, b->name) == 0)
                return owl_fail(err, OWL_ERR_INPUT, "%s: tensor name '%s' appears twice", m->files[b->file].path,
                                b->source_name);
        }
    }
    for (size_t i = 0; i < m->n_special; i++) {
        int64_t id = m->special[i].id;
        if (id >= 0 && (uint64_t)id < m->vocab.n_tokens) {
            owl_strview v = m->vocab.tokens[id];
            m->special[i].text = owl_model_strndup(m, v.p, v.len);
        }
    }
    owl_model_info *in = &m->info;
    in->tensors = m->tensors;
    in->n_tensors = m->n_tensors;
    in->files = m->files;
    in->n_files = m->n_files;
    in->tokenizer.special = m->special;
    in->tokenizer.n_special = m->n_special;
    if (!in->tokenizer.n_vocab) in->tokenizer.n_vocab = (int64_t)m->vocab.n_tokens;
    if (!in->tokenizer.n_merges) in->tokenizer.n_merges = (int64_t)m->vocab.n_merges;
    if (m->adapter.kind) in->adapter = &m->adapter;
    return OWL_OK;
}

void owl_model_close(owl_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_files; i++) owl_unmap_file(&m->maps[i]);
    free(m->maps);
    free(m->files);
    free(m->tensors);
    free(m->sorted);
    free(m->special);
    free(m->vocab.tokens);
    free(m->vocab.scores);
    free(m->vocab.types);
    free(m->vocab.merges);
    owl_gguf_free(m->gguf);
    if (m->metadata) json_decref(m->metadata);
    for (owl_arena_chunk *c = m->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(m);
}

const owl_model_info *owl_model_get_info(const owl_model *m) { return &m->info; }

const owl_tensor *owl_model_find_tensor(const owl_model *m, const char *name) {
    size_t lo = 0, hi = m->sorted ? m->n_tensors : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const owl_tensor *t = &m->tensors[m->sorted[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

void owl_model_totals(const owl_model *m, uint64_t *params, uint64_t *bytes) {
    uint64_t p = 0, b = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!(m->tensors[i].flags & OWL_TENSOR_AUX)) p += m->tensors[i].n_elements;
        b += m->tensors[i].n_bytes;
    }
    if (params) *params = p;
    if (bytes) *bytes = b;
}

owl_memory_estimate owl_model_memory(const owl_model *m, int64_t n_ctx) {
    const owl_hparams *hp = &m->info.hp;
    owl_memory_estimate e = {0};
    owl_model_totals(m, NULL, &e.weights);
    if (n_ctx <= 0) n_ctx = hp->n_ctx_train > 0 ? hp->n_ctx_train : 2048;
    if (hp->n_layer > 0 && hp->n_embd > 0) {
        int64_t head_dim = hp->head_dim > 0 ? hp->head_dim : (hp->n_head > 0 ? hp->n_embd / hp->n_head : 0);
        int64_t kv_heads = hp->n_head_kv > 0 ? hp->n_head_kv : hp->n_head;
        /* per token per layer: K and V rows in F16; MLA caches the compressed latent once */
        int64_t per_tok = hp->kv_lora_rank > 0 ? (hp->kv_lora_rank + hp->n_rot) : 2 * kv_heads * head_dim;
        e.kv_cache = (uint64_t)per_tok * 2u * (uint64_t)hp->n_layer * (uint64_t)n_ctx;
        /* work: residual, norm, q/k/v/ffn activations for one batch of 512 (F32),
           attention scores for one head row block, and the logits row */
        int64_t batch = n_ctx < 512 ? n_ctx : 512;
        int64_t width = hp->n_embd * 4 + (hp->n_ff > 0 ? hp->n_ff * 3 : hp->n_embd * 8);
        e.work = (uint64_t)(batch * width + batch * n_ctx * (hp->n_head > 0 ? hp->n_head : 1) + hp->n_vocab * batch) * 4u;
    }
    e.total = e.weights + e.kv_cache + e.work;
    return e;
}

const char *owl_format_name(owl_format f) {
    switch (f) {
    case OWL_FORMAT_GGUF: return "gguf";
    case OWL_FORMAT_SAFETENSORS: return "safetensors";
    case OWL_FORMAT_HF_DIR: return "huggingface";
    case OWL_FORMAT_LLAMA2C: return "llama2c";
    case OWL_FORMAT_LLAMA2C_INT8: return "llama2c-int8";
    case OWL_FORMAT_PEFT_ADAPTER: return "peft-adapter";
    case OWL_FORMAT_MLX_ADAPTER: return "mlx-adapter";
    case OWL_FORMAT_TOKENIZER_JSON: return "tokenizer.json";
    case OWL_FORMAT_SENTENCEPIECE: return "sentencepiece";
    case OWL_FORMAT_LLAMA2C_TOKENIZER: return "llama2c-tokenizer";
    case OWL_FORMAT_BPE_FILES: return "bpe-files";
    }
    return "unknown";
}
