/* report.c: the model description as JSON: the metadata listing and the
 * whole `owl inspect` report. The CLI renders its text view from this same
 * document, so the figures a script sees and a person sees never differ. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json_util.h"
#include "formats/gguf.h"
#include "model/dtype.h"
#include "model/model.h"

#define ARRAY_PREVIEW 8

static json_t *gguf_scalar(const owl_gguf_value *v) {
    switch (v->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64:
        return v->u > (uint64_t)INT64_MAX ? owl_json_real((double)v->u) : json_integer((json_int_t)v->u);
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: return json_integer(v->i);
    case GGUF_F32: case GGUF_F64: return owl_json_real(v->f);
    case GGUF_BOOL: return json_boolean(v->u);
    case GGUF_STRING: return owl_json_string_lossy(v->s.p, v->s.len);
    default: return json_null();
    }
}

static json_t *gguf_array(const owl_gguf_value *v, int full) {
    uint64_t n = v->arr.n, shown = (full || n <= 2 * ARRAY_PREVIEW) ? n : ARRAY_PREVIEW;
    json_t *items = json_array();
    for (uint64_t i = 0; i < shown; i++) {
        json_t *x;
        if (v->arr.elem_type == GGUF_STRING) x = owl_json_string_lossy(v->arr.strs[i].p, v->arr.strs[i].len);
        else if (v->arr.elem_type == GGUF_ARRAY) x = gguf_array(&v->arr.items[i], full);
        else if (v->arr.elem_type == GGUF_F32 || v->arr.elem_type == GGUF_F64) x = owl_json_real(owl_gguf_arr_float(v, i));
        else if (v->arr.elem_type == GGUF_BOOL) x = json_boolean(owl_gguf_arr_int(v, i));
        else x = json_integer(owl_gguf_arr_int(v, i));
        json_array_append_new(items, x);
    }
    if (shown == n) return items;
    return json_pack("{s:s, s:I, s:o}", "array_of", owl_gguf_type_name(v->arr.elem_type), "count", (json_int_t)n,
                     "first", items);
}

static json_t *metadata_object(const owl_model *m, int full) {
    if (m->gguf) {
        json_t *o = json_object();
        for (uint64_t i = 0; i < m->gguf->n_kv; i++) {
            const owl_gguf_kv *kv = &m->gguf->kv[i];
            char *key = strndup(kv->key.p, kv->key.len);
            if (!key) continue;
            json_object_set_new(o, key, kv->value.type == GGUF_ARRAY ? gguf_array(&kv->value, full) : gguf_scalar(&kv->value));
            free(key);
        }
        return o;
    }
    return m->metadata ? json_incref(m->metadata) : json_object();
}

owl_status owl_model_metadata_json(const owl_model *m, int include_arrays, char **out, owl_error *err) {
    json_t *o = metadata_object(m, include_arrays);
    *out = json_dumps(o, OWL_JSON_FLAGS);
    json_decref(o);
    return *out ? OWL_OK : owl_fail(err, OWL_ERR_NOMEM, "out of memory");
}

static json_t *hparams_object(const owl_hparams *hp) {
    static const char *const rope[] = {"none", "interleaved", "halves"};
    json_t *o = json_object();
#define SET_INT(k, v) if ((v) != 0) json_object_set_new(o, k, json_integer(v))
    SET_INT("n_vocab", hp->n_vocab);
    SET_INT("n_ctx_train", hp->n_ctx_train);
    SET_INT("n_embd", hp->n_embd);
    SET_INT("n_layer", hp->n_layer);
    SET_INT("n_head", hp->n_head);
    SET_INT("n_head_kv", hp->n_head_kv);
    SET_INT("head_dim", hp->head_dim);
    SET_INT("n_ff", hp->n_ff);
    SET_INT("n_expert", hp->n_expert);
    SET_INT("n_expert_used", hp->n_expert_used);
    SET_INT("n_rot", hp->n_rot);
    SET_INT("sliding_window", hp->sliding_window);
    SET_INT("kv_lora_rank", hp->kv_lora_rank);
    SET_INT("quant_group_size", hp->quant_group_size);
#undef SET_INT
    if (hp->norm_eps) json_object_set_new(o, "norm_eps", owl_json_real(hp->norm_eps));
    if (hp->rope_theta) json_object_set_new(o, "rope_theta", owl_json_real(hp->rope_theta));
    if (hp->rope_scale) json_object_set_new(o, "rope_scale", owl_json_real(hp->rope_scale));
    if (hp->rope_style >= 0 && hp->rope_style <= 2)
        json_object_set_new(o, "rope_style", json_string(rope[hp->rope_style]));
    json_object_set_new(o, "tied_embeddings", json_boolean(hp->tied_embeddings));
    return o;
}

static json_t *tensors_array(const owl_model *m, json_t *totals) {
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n_tensors; i++) {
        const owl_tensor *t = &m->tensors[i];
        const char *dt = owl_dtype_name(t->dtype);
        json_t *shape = json_array();
        for (int k = 0; k < t->n_dims; k++) json_array_append_new(shape, json_integer((json_int_t)t->ne[k]));
        json_t *o = json_pack("{s:o, s:s, s:o, s:I, s:I, s:I}", "name", owl_json_str_or_null(t->name), "dtype",
                              dt ? dt : "?", "shape", shape, "elements", (json_int_t)t->n_elements, "bytes",
                              (json_int_t)t->n_bytes, "offset", (json_int_t)t->offset);
        if (strcmp(t->name, t->source_name) != 0)
            json_object_set_new(o, "source_name", owl_json_str_or_null(t->source_name));
        if (m->n_files > 1) json_object_set_new(o, "file", json_integer(t->file));
        if (t->flags & OWL_TENSOR_AUX) json_object_set_new(o, "auxiliary", json_true());
        json_array_append_new(arr, o);
        json_t *row = json_object_get(totals, dt ? dt : "?");
        if (!row) {
            row = json_pack("{s:I, s:I, s:I}", "tensors", (json_int_t)0, "parameters", (json_int_t)0, "bytes", (json_int_t)0);
            json_object_set_new(totals, dt ? dt : "?", row);
        }
        json_object_set_new(row, "tensors", json_integer(json_integer_value(json_object_get(row, "tensors")) + 1));
        if (!(t->flags & OWL_TENSOR_AUX))
            json_object_set_new(row, "parameters",
                                json_integer(json_integer_value(json_object_get(row, "parameters")) + (json_int_t)t->n_elements));
        json_object_set_new(row, "bytes", json_integer(json_integer_value(json_object_get(row, "bytes")) + (json_int_t)t->n_bytes));
    }
    return arr;
}

static json_t *strings_array(const char *const *s, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, owl_json_str_or_null(s[i]));
    return a;
}

static json_t *tokenizer_object(const owl_model_info *in) {
    const owl_tokenizer_info *t = &in->tokenizer;
    json_t *o = json_pack("{s:s, s:I}", "kind", t->kind ? t->kind : "none", "n_vocab", (json_int_t)t->n_vocab);
    if (t->pre) json_object_set_new(o, "pre", owl_json_str_or_null(t->pre));
    if (t->n_merges) json_object_set_new(o, "n_merges", json_integer(t->n_merges));
    if (t->n_added) json_object_set_new(o, "n_added", json_integer(t->n_added));
    if (t->add_bos >= 0) json_object_set_new(o, "add_bos", json_boolean(t->add_bos));
    if (t->add_eos >= 0) json_object_set_new(o, "add_eos", json_boolean(t->add_eos));
    if (t->source) json_object_set_new(o, "source", owl_json_str_or_null(t->source));
    json_t *sp = json_array();
    for (size_t i = 0; i < t->n_special; i++)
        json_array_append_new(sp, json_pack("{s:s, s:I, s:o}", "role", t->special[i].role, "id",
                                            (json_int_t)t->special[i].id, "text", owl_json_str_or_null(t->special[i].text)));
    json_object_set_new(o, "special", sp);
    return o;
}

static json_t *license_object(const owl_license_info *l) {
    json_t *o = json_object();
    if (l->license) json_object_set_new(o, "license", owl_json_str_or_null(l->license));
    if (l->license_name) json_object_set_new(o, "license_name", owl_json_str_or_null(l->license_name));
    if (l->license_link) json_object_set_new(o, "license_link", owl_json_str_or_null(l->license_link));
    if (l->source) json_object_set_new(o, "source", owl_json_str_or_null(l->source));
    if (l->n_base_models) json_object_set_new(o, "base_models", strings_array(l->base_models, l->n_base_models));
    if (l->n_datasets) json_object_set_new(o, "datasets", strings_array(l->datasets, l->n_datasets));
    return o;
}

static json_t *adapter_object(const owl_adapter_info *a) {
    json_t *o = json_pack("{s:s, s:I, s:f, s:b, s:b, s:b}", "kind", a->kind ? a->kind : "lora", "rank",
                          (json_int_t)a->rank, "alpha", a->alpha, "use_rslora", a->use_rslora, "use_dora", a->use_dora,
                          "fan_in_fan_out", a->fan_in_fan_out);
    if (a->base_model) json_object_set_new(o, "base_model", owl_json_str_or_null(a->base_model));
    json_object_set_new(o, "targets", strings_array(a->targets, a->n_targets));
    return o;
}

owl_status owl_inspect_json(const owl_model *m, const owl_inspect_options *opt, char **out, owl_error *err) {
    owl_inspect_options dflt = {0};
    if (!opt) opt = &dflt;
    const owl_model_info *in = &m->info;
    uint64_t params, bytes;
    owl_model_totals(m, &params, &bytes);
    json_t *root = json_object();
    json_object_set_new(root, "path", owl_json_str_or_null(m->n_files ? m->files[0].path : NULL));
    json_object_set_new(root, "format", json_string(owl_format_name(in->format)));
    if (in->gguf_version) json_object_set_new(root, "gguf_version", json_integer(in->gguf_version));
    if (m->gguf) {
        json_object_set_new(root, "gguf_alignment", json_integer((json_int_t)m->gguf->alignment));
        json_object_set_new(root, "gguf_data_offset", json_integer((json_int_t)m->gguf->data_offset));
    }
    json_object_set_new(root, "architecture", owl_json_str_or_null(in->architecture));
    json_object_set_new(root, "family", owl_json_str_or_null(in->family));
    json_object_set_new(root, "name", owl_json_str_or_null(in->name));
    json_object_set_new(root, "hparams", hparams_object(&in->hp));
    json_object_set_new(root, "parameters", json_integer((json_int_t)params));
    json_object_set_new(root, "tensor_count", json_integer((json_int_t)m->n_tensors));
    json_object_set_new(root, "tensor_bytes", json_integer((json_int_t)bytes));
    json_t *totals = json_object();
    json_object_set_new(root, "tensors", tensors_array(m, totals));
    json_object_set_new(root, "dtype_totals", totals);
    if (m->n_tensors && in->hp.n_layer > 0) {
        owl_memory_estimate e = owl_model_memory(m, opt->n_ctx);
        int64_t n_ctx = opt->n_ctx > 0 ? opt->n_ctx : (in->hp.n_ctx_train > 0 ? in->hp.n_ctx_train : 2048);
        json_object_set_new(root, "memory",
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "n_ctx", (json_int_t)n_ctx, "weights",
                                      (json_int_t)e.weights, "kv_cache", (json_int_t)e.kv_cache, "work",
                                      (json_int_t)e.work, "total", (json_int_t)e.total, "kv_type", "F16"));
    }
    json_object_set_new(root, "tokenizer", tokenizer_object(in));
    json_object_set_new(root, "chat_template", owl_json_str_or_null(in->chat_template));
    json_object_set_new(root, "license", license_object(&in->license));
    owl_openness op;
    if (owl_openness_assess(m, &op, err) == OWL_OK)
        json_object_set_new(root, "openness", json_pack("{s:s, s:s}", "class", op.cls, "evidence", op.evidence));
    if (in->adapter) json_object_set_new(root, "adapter", adapter_object(in->adapter));
    json_t *files = json_array();
    for (size_t i = 0; i < m->n_files; i++) {
        json_t *f = json_pack("{s:o, s:s, s:I}", "path", owl_json_str_or_null(m->files[i].path), "role",
                              m->files[i].role ? m->files[i].role : "?", "size", (json_int_t)m->files[i].size);
        if (opt->hash) {
            char hex[65];
            owl_status st = owl_sha256_file(m->files[i].path, hex, NULL, NULL, err);
            if (st) {
                json_decref(f);
                json_decref(files);
                json_decref(root);
                return st;
            }
            json_object_set_new(f, "sha256", json_string(hex));
        }
        json_array_append_new(files, f);
    }
    json_object_set_new(root, "files", files);
    json_object_set_new(root, "metadata", metadata_object(m, opt->all_metadata));
    *out = json_dumps(root, OWL_JSON_FLAGS);
    json_decref(root);
    return *out ? OWL_OK : owl_fail(err, OWL_ERR_NOMEM, "out of memory");
}
