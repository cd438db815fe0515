/* adapter.c: LoRA adapter directories: PEFT (adapter_config.json with
 * peft_type LORA + adapter_model.safetensors) and MLX (lora_parameters +
 * adapters.safetensors). Tensor names become the base weight's canonical
 * name plus ".lora_a" / ".lora_b", so they line up with the base model's. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/json_fields.h"
#include "formats/safetensors.h"
#include "model/names.h"

#define MAX_RANK (1 << 16)
#define MAX_TARGETS 256
#define MAX_TARGET_LEN 256

typedef struct adapter_ctx {
    owl_model *m;
    const char *dir, *config_path;
    json_t *config;
    owl_error *err;
} adapter_ctx;

/* The weights file: a pickle sibling is refused by name, never opened. */
static owl_status load_weights(adapter_ctx *c, const char *name, const char *refused, const char *why) {
    char *p = owl_path_join(c->dir, name), *q = owl_path_join(c->dir, refused);
    owl_status st;
    if (!p || !q) st = owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
    else if (owl_path_exists(p)) st = owl_safetensors_load(c->m, p, "adapter", NULL, c->err);
    else if (owl_path_exists(q)) st = owl_fail(c->err, OWL_ERR_UNSUPPORTED, "%s: %s", q, why);
    else st = owl_fail(c->err, OWL_ERR_INPUT, "%s: no %s beside adapter_config.json", c->dir, name);
    free(p);
    free(q);
    return st;
}

/* The adapter suffixes PEFT and MLX write after the base module's name. */
static const struct {
    const char *suffix, *owl;
} lora_parts[] = {
    {".lora_A.weight", "lora_a"},
    {".lora_B.weight", "lora_b"},
    {".lora_embedding_A", "lora_a"},
    {".lora_embedding_B", "lora_b"},
    {".lora_magnitude_vector.weight", "lora_magnitude"},
    {".lora_magnitude_vector", "lora_magnitude"},
    {".lora_a", "lora_a"},
    {".lora_b", "lora_b"},
};

/* Splits an adapter tensor name into its base module (PEFT's
   "base_model.model." wrapper dropped) and its part; 0 if it is no LoRA part. */
static int split_name(const char *name, char *module, size_t cap, const char **part) {
    static const char wrapper[] = "base_model.model.";
    if (strncmp(name, wrapper, sizeof wrapper - 1) == 0) name += sizeof wrapper - 1;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof lora_parts / sizeof lora_parts[0]; i++) {
        size_t k = strlen(lora_parts[i].suffix);
        if (n > k && strcmp(name + n - k, lora_parts[i].suffix) == 0 && n - k < cap) {
            memcpy(module, name, n - k);
            module[n - k] = '\0';
            *part = lora_parts[i].owl;
            return 1;
        }
    }
    return 0;
}

/* Canonical names; for MLX also the distinct target modules (the last part
   of each module name, sorted). */
static owl_status name_tensors(adapter_ctx *c, size_t first, int collect_targets) {
    owl_model *m = c->m;
    char module[1100], mapped[1200], full[1300];
    const char *targets[MAX_TARGETS];
    size_t n_targets = 0;
    for (size_t i = first; i < m->n_tensors; i++) {
        owl_tensor *t = &m->tensors[i];
        const char *part;
        t->name = t->source_name;
        if (!split_name(t->source_name, module, sizeof module, &part)) continue;
        size_t mlen = strlen(module);
        if (mlen + sizeof ".weight" > sizeof module) continue;
        if (collect_targets) {
            const char *dot = strrchr(module, '.'), *leaf = dot ? dot + 1 : module;
            size_t k = 0;
            while (k < n_targets && strcmp(targets[k], leaf) != 0) k++;
            if (k == n_targets && n_targets < MAX_TARGETS) {
                if (!(targets[n_targets] = owl_model_strdup(m, leaf)))
                    return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
                /* insertion sort: a handful of names */
                for (size_t j = n_targets++; j > 0 && strcmp(targets[j - 1], targets[j]) > 0; j--) {
                    const char *tmp = targets[j];
                    targets[j] = targets[j - 1];
                    targets[j - 1] = tmp;
                }
            }
        }
        memcpy(module + mlen, ".weight", sizeof ".weight");
        if (owl_hf_tensor_name(module, NULL, mapped, sizeof mapped) != 1) continue; /* unknown module: kept as found */
        snprintf(full, sizeof full, "%s.%s", mapped, part);
        if (!(t->name = owl_model_strdup(m, full))) return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
    }
    if (collect_targets && n_targets) {
        const char **arr = owl_model_alloc(m, n_targets * sizeof *arr);
        if (!arr) return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
        memcpy(arr, targets, n_targets * sizeof *arr);
        m->adapter.targets = arr;
        m->adapter.n_targets = n_targets;
    }
    return OWL_OK;
}

/* Each 2-D LoRA factor has the adapter's rank on its inner side: PEFT stores
   A as [r, in] and B as [out, r] (ggml order reverses these); MLX stores A
   as [in, r] and B as [r, out]. */
static owl_status check_ranks(adapter_ctx *c, size_t first, int mlx) {
    owl_model *m = c->m;
    char name[160], module[1100];
    for (size_t i = first; i < m->n_tensors; i++) {
        const owl_tensor *t = &m->tensors[i];
        const char *part;
        if (t->n_dims != 2 || !split_name(t->source_name, module, sizeof module, &part)) continue;
        int is_a = strcmp(part, "lora_a") == 0;
        if (!is_a && strcmp(part, "lora_b") != 0) continue;
        uint64_t r = (is_a != mlx) ? t->ne[1] : t->ne[0];
        if (r != (uint64_t)m->adapter.rank)
            return owl_fail(c->err, OWL_ERR_INPUT, "%s: tensor '%s' has rank %llu, but the adapter's rank is %lld",
                            m->files[t->file].path, owl_printable(t->source_name, name, sizeof name),
                            (unsigned long long)r, (long long)m->adapter.rank);
    }
    return OWL_OK;
}

/* target_modules: a list of module names, or one string (a regular expression in PEFT). */
static owl_status peft_targets(adapter_ctx *c) {
    const json_t *v = json_object_get(c->config, "target_modules");
    char found[96];
    if (!v || json_is_null(v)) return OWL_OK;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_string(v))
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: target_modules: expected a list of module names or a string, found %s",
                        c->config_path, owl_json_describe(v, found, sizeof found));
    if (n > MAX_TARGETS)
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: target_modules: %zu entries, more than the %d owl accepts",
                        c->config_path, n, MAX_TARGETS);
    const char **arr = owl_model_alloc(c->m, (n ? n : 1) * sizeof *arr);
    if (!arr) return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(s) || json_string_length(s) > MAX_TARGET_LEN)
            return owl_fail(c->err, OWL_ERR_INPUT, "%s: target_modules[%zu]: expected a module name of at most %d bytes, found %s",
                            c->config_path, i, MAX_TARGET_LEN, owl_json_describe(s, found, sizeof found));
        if (!(arr[i] = owl_model_strdup(c->m, json_string_value(s)))) return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
    }
    c->m->adapter.targets = arr;
    c->m->adapter.n_targets = n;
    return OWL_OK;
}

static owl_status load_peft(adapter_ctx *c) {
    owl_adapter_info *a = &c->m->adapter;
    const char *type = NULL;
    owl_status st = owl_field_string(c->m, c->config, "peft_type", 64, &type, c->config_path, c->err);
    if (st) return st;
    if (!type || strcmp(type, "LORA") != 0) {
        char t[96];
        return owl_fail(c->err, OWL_ERR_UNSUPPORTED, "%s: peft_type %s is not supported (owl reads LORA adapters)",
                        c->config_path, type ? owl_printable(type, t, sizeof t) : "(missing)");
    }
    c->m->info.format = OWL_FORMAT_PEFT_ADAPTER;
    a->rank = 8; /* PEFT LoraConfig defaults */
    a->alpha = 8;
    const json_t *rp = json_object_get(c->config, "rank_pattern");
    size_t first = c->m->n_tensors;
    if ((st = owl_field_int(c->config, "r", 1, MAX_RANK, &a->rank, c->config_path, c->err)) ||
        (st = owl_field_number(c->config, "lora_alpha", 0, 1e9, &a->alpha, c->config_path, c->err)) ||
        (st = owl_field_bool(c->config, "use_rslora", &a->use_rslora, c->config_path, c->err)) ||
        (st = owl_field_bool(c->config, "use_dora", &a->use_dora, c->config_path, c->err)) ||
        (st = owl_field_bool(c->config, "fan_in_fan_out", &a->fan_in_fan_out, c->config_path, c->err)) ||
        (st = owl_field_string(c->m, c->config, "base_model_name_or_path", 1024, &a->base_model, c->config_path,
                               c->err)) ||
        (st = peft_targets(c)) ||
        (st = load_weights(c, "adapter_model.safetensors", "adapter_model.bin",
                           "pickle files are not loaded for safety; convert to safetensors")) ||
        (st = name_tensors(c, first, 0)))
        return st;
    /* per-module ranks (rank_pattern) make the one rank a default only */
    if (json_object_size(rp) == 0) st = check_ranks(c, first, 0);
    return st;
}

static owl_status load_mlx(adapter_ctx *c) {
    owl_adapter_info *a = &c->m->adapter;
    const json_t *lp = json_object_get(c->config, "lora_parameters");
    char found[96];
    if (!json_is_object(lp))
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: lora_parameters: expected an object, found %s", c->config_path,
                        owl_json_describe(lp, found, sizeof found));
    c->m->info.format = OWL_FORMAT_MLX_ADAPTER;
    double scale = 20.0, alpha = -1, dropout = 0; /* mlx_lm's defaults: rank 8, scale 20 */
    int64_t layers = 0;
    const char *tune = NULL;
    a->rank = 8;
    size_t first = c->m->n_tensors;
    owl_status st;
    if ((st = owl_field_int(lp, "rank", 1, MAX_RANK, &a->rank, c->config_path, c->err)) ||
        (st = owl_field_number(lp, "alpha", 0, 1e9, &alpha, c->config_path, c->err)) ||
        (st = owl_field_number(lp, "scale", 0, 1e9, &scale, c->config_path, c->err)) ||
        (st = owl_field_number(lp, "dropout", 0, 1, &dropout, c->config_path, c->err)) ||
        (st = owl_field_int(c->config, "lora_layers", 0, 1 << 20, &layers, c->config_path, c->err)) ||
        (st = owl_field_int(c->config, "num_layers", -1, 1 << 20, &layers, c->config_path, c->err)) ||
        (st = owl_field_bool(c->config, "use_dora", &a->use_dora, c->config_path, c->err)) ||
        (st = owl_field_string(c->m, c->config, "fine_tune_type", 64, &tune, c->config_path, c->err)) ||
        (st = owl_field_string(c->m, c->config, "model", 1024, &a->base_model, c->config_path, c->err)))
        return st;
    if (tune && strcmp(tune, "dora") == 0) a->use_dora = 1;
    /* MLX applies scale directly; as a LoRA alpha that is scale * rank (alpha / rank == scale) */
    a->alpha = alpha >= 0 ? alpha : scale * (double)a->rank;
    if ((st = load_weights(c, "adapters.safetensors", "adapters.npz",
                           "NumPy .npz adapters are not read; save the adapter as safetensors")) ||
        (st = name_tensors(c, first, 1)))
        return st;
    return check_ranks(c, first, 1);
}

owl_status owl_load_adapter_dir(owl_model *m, const char *dir, owl_error *err) {
    adapter_ctx c = {.m = m, .dir = dir, .err = err};
    char *p = owl_path_join(dir, "adapter_config.json"), *text = NULL;
    size_t len = 0;
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_status st = owl_read_small_file(p, OWL_MAX_CONFIG_BYTES, &text, &len, err);
    int file = st ? -1 : owl_model_add_file(m, p, "config", NULL, len, err);
    free(p);
    if (st || file < 0) {
        free(text);
        return st ? st : (err ? err->status : OWL_ERR_NOMEM);
    }
    c.config_path = m->files[file].path;
    st = owl_json_parse_object(text, len, c.config_path, &c.config, err);
    free(text);
    if (st) return st;
    m->adapter.kind = "lora";
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    if (n > start && !(m->info.name = owl_model_strndup(m, dir + start, n - start)))
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    else if (json_object_get(c.config, "peft_type"))
        st = load_peft(&c);
    else if (json_object_get(c.config, "lora_parameters"))
        st = load_mlx(&c);
    else
        st = owl_fail(err, OWL_ERR_UNSUPPORTED,
                      "%s: neither peft_type (a PEFT adapter) nor lora_parameters (an MLX adapter): not an adapter "
                      "owl knows", c.config_path);
    if (m->metadata) json_decref(m->metadata);
    m->metadata = c.config; /* the model owns it now */
    return st;
}
