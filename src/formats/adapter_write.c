/* adapter_write.c: LoRA adapters written from an in-memory description (what
 * a trainer holds): a PEFT directory (adapter_config.json +
 * adapter_model.safetensors, read by Hugging Face's peft and by owl) and
 * llama.cpp's GGUF LoRA (convert_lora_to_gguf.py's layout). The two differ in
 * q/k row order (rotate-half vs. GGUF's interleaved pairs for the llama
 * family), so B is permuted where the description's order is not the file's. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "model/lora.h"
#include "model/names.h"

#define MAX_RANK (1 << 16)
#define MAX_DIM (1ll << 24)

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char *arch_of(const owl_lora_desc *d) { return d->architecture && *d->architecture ? d->architecture : "llama"; }

static owl_status check_desc(const owl_lora_desc *d, const char *out, owl_error *err) {
    if (!d || !out || !*out) return owl_fail(err, OWL_ERR_USAGE, "LoRA writer: description and output path are required");
    if (!d->n || !d->t) return owl_fail(err, OWL_ERR_USAGE, "%s: the LoRA description holds no tensors", out);
    if (d->rank < 1 || d->rank > MAX_RANK || !isfinite(d->alpha) || d->alpha < 0 || !(d->dropout >= 0 && d->dropout < 1))
        return owl_fail(err, OWL_ERR_USAGE, "%s: LoRA rank %lld, alpha %g, dropout %g: expected 1..%d, >= 0, [0, 1)", out,
                        (long long)d->rank, d->alpha, d->dropout, MAX_RANK);
    for (size_t i = 0; i < d->n; i++) {
        const owl_lora_tensor *t = &d->t[i];
        if (!t->target || !ends_with(t->target, ".weight") || strlen(t->target) > 512 || !t->a || !t->b ||
            t->rank < 1 || t->rank > MAX_RANK || t->n_in < 1 || t->n_in > MAX_DIM || t->n_out < 1 || t->n_out > MAX_DIM)
            return owl_fail(err, OWL_ERR_USAGE,
                            "%s: LoRA tensor %zu (%s) needs a weight name ending in .weight, both factors, a rank 1..%d "
                            "and sizes 1..2^24", out, i, t->target ? t->target : "no target", MAX_RANK);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->t[j].target, t->target))
                return owl_fail(err, OWL_ERR_USAGE, "%s: two LoRA tensors target %s", out, t->target);
    }
    return OWL_OK;
}

/* B as the file wants it: a copy with q/k rows permuted when the description's
   order (interleaved or not) differs from the file's; otherwise t->b itself. */
static owl_status file_rows(const owl_lora_desc *d, const owl_lora_tensor *t, int file_interleaved, const char *out,
                            const float **b, float **owned, owl_error *err) {
    *b = t->b;
    *owned = NULL;
    int64_t heads = 0;
    if (!strncmp(t->target, "blk.", 4) && ends_with(t->target, ".attn_q.weight")) heads = d->n_head;
    else if (!strncmp(t->target, "blk.", 4) && ends_with(t->target, ".attn_k.weight")) heads = d->n_head_kv ? d->n_head_kv : d->n_head;
    else return OWL_OK;
    if (!d->base_rows_interleaved == !file_interleaved) return OWL_OK;
    if (heads < 1 || d->head_dim < 2 || d->head_dim % 2 || heads * d->head_dim != t->n_out)
        return owl_fail(err, OWL_ERR_USAGE,
                        "%s: %s has %lld rows; reordering them for RoPE needs n_head/n_head_kv x head_dim rows with an "
                        "even head_dim (the description gives %lld x %lld)", out, t->target, (long long)t->n_out,
                        (long long)heads, (long long)d->head_dim);
    float *p = malloc((size_t)(t->n_out * t->rank) * sizeof(float));
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_lora_permute_rows(t->b, p, heads, d->head_dim, t->rank, file_interleaved);
    *b = *owned = p;
    return OWL_OK;
}

/* ---- PEFT ------------------------------------------------------------------ */

/* base_model.model.model.layers.N.self_attn.q_proj: PEFT's module path. */
static owl_status peft_module(const owl_lora_desc *d, const owl_lora_tensor *t, const char *out, char *buf, size_t cap,
                              owl_error *err) {
    char hf[1100];
    if (owl_hf_name_of(t->target, arch_of(d), hf, sizeof hf) != 1 || !ends_with(hf, ".weight"))
        return owl_fail(err, OWL_ERR_USAGE, "%s: %s has no Hugging Face module name owl knows", out, t->target);
    hf[strlen(hf) - strlen(".weight")] = '\0';
    if ((size_t)snprintf(buf, cap, "base_model.model.%s", hf) >= cap)
        return owl_fail(err, OWL_ERR_USAGE, "%s: module name of %s too long", out, t->target);
    return OWL_OK;
}

static json_t *shape2(int64_t a, int64_t b) { return json_pack("[I, I]", (json_int_t)a, (json_int_t)b); }

/* The safetensors file: u64 LE header length, the JSON header padded with
   spaces to 8 bytes, then the F32 data in header order. */
static owl_status write_safetensors(const owl_lora_desc *d, const char *dir, const char *path, owl_error *err) {
    json_t *h = json_object();
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
    uint64_t off = 0;
    char module[1200], name[1300];
    owl_status st = OWL_OK;
    for (size_t i = 0; i < d->n && !st; i++) {
        const owl_lora_tensor *t = &d->t[i];
        if ((st = peft_module(d, t, dir, module, sizeof module, err))) break;
        uint64_t na = (uint64_t)(t->rank * t->n_in) * 4, nb = (uint64_t)(t->n_out * t->rank) * 4;
        snprintf(name, sizeof name, "%s.lora_A.weight", module);
        json_object_set_new(h, name, json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape2(t->rank, t->n_in),
                                               "data_offsets", (json_int_t)off, (json_int_t)(off + na)));
        off += na;
        snprintf(name, sizeof name, "%s.lora_B.weight", module);
        json_object_set_new(h, name, json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape2(t->n_out, t->rank),
                                               "data_offsets", (json_int_t)off, (json_int_t)(off + nb)));
        off += nb;
    }
    char *text = st ? NULL : json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (st) return st;
    if (!text) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    owl_atomic_file f;
    if ((st = owl_atomic_open(&f, path, err))) {
        free(text);
        return st;
    }
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    owl_atomic_write(&f, le, 8);
    owl_atomic_write(&f, text, len);
    owl_atomic_write(&f, "        ", padded - len);
    free(text);
    for (size_t i = 0; i < d->n && !st; i++) {
        const owl_lora_tensor *t = &d->t[i];
        const float *b;
        float *owned;
        if ((st = file_rows(d, t, 0, dir, &b, &owned, err))) break;
        owl_atomic_write(&f, t->a, (size_t)(t->rank * t->n_in) * sizeof(float));
        owl_atomic_write(&f, b, (size_t)(t->n_out * t->rank) * sizeof(float));
        free(owned);
    }
    if (st) {
        owl_atomic_abort(&f);
        return st;
    }
    return owl_atomic_commit(&f, err);
}

/* adapter_config.json as peft's LoraConfig.save_pretrained writes it (sorted keys, indent 2). */
static owl_status write_config(const owl_lora_desc *d, const char *dir, const char *path, owl_error *err) {
    json_t *targets = json_array(), *ranks = json_object();
    char module[1200];
    owl_status st = OWL_OK;
    for (size_t i = 0; i < d->n && !st; i++) {
        if ((st = peft_module(d, &d->t[i], dir, module, sizeof module, err))) break;
        const char *leaf = strrchr(module, '.') + 1; /* "q_proj" */
        size_t k = 0;
        while (k < json_array_size(targets) && strcmp(json_string_value(json_array_get(targets, k)), leaf)) k++;
        if (k == json_array_size(targets)) json_array_append_new(targets, json_string(leaf));
        /* a tensor of another rank: peft's rank_pattern, keyed by the module path below base_model.model. */
        if (d->t[i].rank != d->rank)
            json_object_set_new(ranks, module + strlen("base_model.model."), json_integer((json_int_t)d->t[i].rank));
    }
    if (st) {
        json_decref(targets);
        json_decref(ranks);
        return st;
    }
    /* sorted target names, as peft writes its set */
    size_t n = json_array_size(targets);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(targets, j - 1)),
                                           json_string_value(json_array_get(targets, j))) > 0; j--) {
            json_t *a = json_incref(json_array_get(targets, j - 1));
            json_array_set(targets, j - 1, json_array_get(targets, j));
            json_array_set_new(targets, j, a);
        }
    double ip;
    json_t *alpha = modf(d->alpha, &ip) == 0 && fabs(d->alpha) < 1e15 ? json_integer((json_int_t)d->alpha) : json_real(d->alpha);
    json_t *c = json_object();
    json_object_set_new(c, "alpha_pattern", json_object());
    json_object_set_new(c, "base_model_name_or_path", d->base_model ? json_string(d->base_model) : json_null());
    json_object_set_new(c, "bias", json_string("none"));
    json_object_set_new(c, "fan_in_fan_out", json_false());
    json_object_set_new(c, "inference_mode", json_true());
    json_object_set_new(c, "init_lora_weights", json_true());
    json_object_set_new(c, "layers_pattern", json_null());
    json_object_set_new(c, "layers_to_transform", json_null());
    json_object_set_new(c, "lora_alpha", alpha);
    json_object_set_new(c, "lora_dropout", json_real(d->dropout));
    json_object_set_new(c, "modules_to_save", json_null());
    json_object_set_new(c, "peft_type", json_string("LORA"));
    json_object_set_new(c, "r", json_integer((json_int_t)d->rank));
    json_object_set_new(c, "rank_pattern", ranks);
    json_object_set_new(c, "revision", json_null());
    json_object_set_new(c, "target_modules", targets);
    json_object_set_new(c, "task_type", json_string("CAUSAL_LM"));
    json_object_set_new(c, "use_dora", json_false());
    json_object_set_new(c, "use_rslora", json_boolean(d->use_rslora));
    char *text = json_dumps(c, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(c);
    if (!text) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    st = owl_atomic_write_file(path, text, strlen(text), "\n", 1, err);
    free(text);
    return st;
}

owl_status owl_lora_save_peft(const owl_lora_desc *d, const char *dir, owl_error *err) {
    owl_status st = check_desc(d, dir, err);
    if (st) return st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return owl_fail(err, OWL_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    if (!owl_path_is_dir(dir)) return owl_fail(err, OWL_ERR_IO, "%s: exists and is not a directory", dir);
    char *weights = owl_path_join(dir, "adapter_model.safetensors"), *config = owl_path_join(dir, "adapter_config.json");
    if (!weights || !config) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    /* the weights first: a config names a directory whose weights are complete */
    if (!st) st = write_safetensors(d, dir, weights, err);
    if (!st) st = write_config(d, dir, config, err);
    free(weights);
    free(config);
    return st;
}

/* ---- GGUF (llama.cpp) ------------------------------------------------------- */

static owl_gguf_kv kv_str(const char *key, const char *v) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_STRING}, 0};
    kv.value.s = (owl_strview){v, strlen(v)};
    return kv;
}

owl_status owl_lora_save_gguf(const owl_lora_desc *d, const char *path, owl_error *err) {
    owl_status st = check_desc(d, path, err);
    if (st) return st;
    for (size_t i = 0; i < d->n; i++)
        if (d->use_rslora && d->t[i].rank != d->rank)
            return owl_fail(err, OWL_ERR_USAGE, "%s: rsLoRA with per-tensor ranks (%s has %lld, the adapter %lld) has no "
                            "GGUF form: llama.cpp scales every tensor by alpha / its rank", path, d->t[i].target,
                            (long long)d->t[i].rank, (long long)d->rank);
    /* llama.cpp applies alpha / r; alpha / sqrt(r) is alpha * sqrt(r) / r */
    double alpha = d->use_rslora ? d->alpha * sqrt((double)d->rank) : d->alpha;
    owl_gguf_kv kv[6];
    uint64_t n_kv = 0;
    kv[n_kv++] = kv_str("general.architecture", arch_of(d));
    kv[n_kv++] = kv_str("general.type", "adapter");
    kv[n_kv++] = kv_str("adapter.type", "lora");
    kv[n_kv] = (owl_gguf_kv){{"adapter.lora.alpha", strlen("adapter.lora.alpha")}, {.type = GGUF_F32}, 0};
    kv[n_kv++].value.f = alpha;
    if (d->base_model) {
        kv[n_kv] = (owl_gguf_kv){{"general.base_model.count", strlen("general.base_model.count")}, {.type = GGUF_U32}, 0};
        kv[n_kv++].value.u = 1;
        kv[n_kv++] = kv_str("general.base_model.0.name", d->base_model);
    }
    owl_gguf_out_tensor *t = calloc(2 * d->n, sizeof *t);
    char **names = calloc(2 * d->n, sizeof *names);
    float **owned = calloc(d->n, sizeof *owned);
    int file_interleaved = owl_lora_family_permutes(arch_of(d));
    if (!t || !names || !owned) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n && !st; i++) {
        const owl_lora_tensor *s = &d->t[i];
        const float *b;
        size_t len = strlen(s->target) + sizeof ".lora_a";
        if ((st = file_rows(d, s, file_interleaved, path, &b, &owned[i], err))) break;
        if (!(names[2 * i] = malloc(len)) || !(names[2 * i + 1] = malloc(len))) {
            st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(names[2 * i], len, "%s.lora_a", s->target);
        snprintf(names[2 * i + 1], len, "%s.lora_b", s->target);
        /* ggml order: lora_a ne [n_in, r], lora_b ne [r, n_out] (torch's [r, n_in] and [n_out, r]) */
        t[2 * i] = (owl_gguf_out_tensor){{names[2 * i], len - 1}, 2, {(uint64_t)s->n_in, (uint64_t)s->rank, 1, 1},
                                         OWL_F32, s->a, (uint64_t)(s->rank * s->n_in) * 4};
        t[2 * i + 1] = (owl_gguf_out_tensor){{names[2 * i + 1], len - 1}, 2, {(uint64_t)s->rank, (uint64_t)s->n_out, 1, 1},
                                             OWL_F32, b, (uint64_t)(s->n_out * s->rank) * 4};
    }
    if (!st) st = owl_gguf_write(path, 3, kv, n_kv, t, 2 * d->n, OWL_GGUF_DEFAULT_ALIGNMENT, err);
    for (size_t i = 0; names && i < 2 * d->n; i++) free(names[i]);
    for (size_t i = 0; owned && i < d->n; i++) free(owned[i]);
    free(names);
    free(owned);
    free(t);
    return st;
}
