/* test_synth.c: owl_synth_ftype's K-quant recipes against llama-quantize's
 * own choice of per-tensor types (../shared/reference/dtype_<recipe>/info.json,
 * made by llama-quantize on the same shape), general.file_type, and that the
 * engine loads and runs every recipe to finite logits. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>

#include "testfiles.h"

static const struct { int ftype; const char *ref; } RECIPES[] = {
    {OWL_FTYPE_Q4_K_M, "dtype_q4_k_m"},
    {OWL_FTYPE_Q3_K_M, "dtype_q3_k_m"},
    {OWL_FTYPE_Q5_K_M, "dtype_q5_k_m"},
};

static int64_t file_type_of(const owl_model *m) {
    char *js = NULL;
    owl_error err = {0};
    if (owl_model_metadata_json(m, 0, &js, &err)) return -1;
    json_error_t je;
    json_t *o = json_loads(js, 0, &je);
    free(js);
    json_t *v = o ? json_object_get(o, "general.file_type") : NULL;
    int64_t ft = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(o);
    return ft;
}

/* Prompt logits of a short batch, all finite. */
static int runs_finite(const owl_model *m) {
    owl_engine_params p = owl_engine_default_params();
    p.n_ctx = 64;
    p.n_threads = 1;
    owl_engine *e = NULL;
    owl_error err = {0};
    if (owl_engine_new(m, &p, &e, &err)) {
        fprintf(stderr, "engine: %s\n", err.message);
        return 0;
    }
    const int32_t ids[] = {1, 300, 301, 17, 42};
    int8_t want[5] = {1, 1, 1, 1, 1};
    owl_batch b = {.n_tokens = 5, .tokens = ids, .logits = want};
    int ok = owl_engine_decode(e, &b, &err) == OWL_OK;
    const int64_t V = owl_engine_n_vocab(e);
    for (int64_t i = 0; ok && i < 5; i++) {
        const float *l = owl_engine_logits(e, i);
        float mx = 0;
        for (int64_t j = 0; j < V; j++) {
            if (!isfinite(l[j])) ok = 0;
            mx = fmaxf(mx, fabsf(l[j]));
        }
        if (mx == 0) ok = 0;
    }
    owl_engine_free(e);
    return ok;
}

static void test_recipes_match_llama_quantize(void) {
    for (size_t r = 0; r < sizeof RECIPES / sizeof RECIPES[0]; r++) {
        const char *name = owl_ftype_name(RECIPES[r].ftype);
        const char *path = tmp_path("r.gguf");
        owl_error err = {0};
        CHECK(owl_synth_ftype("test-k", RECIPES[r].ftype, 3, path, &err) == OWL_OK, "%s: %s", name, err.message);
        char rel[256];
        snprintf(rel, sizeof rel, "reference/%s/info.json", RECIPES[r].ref);
        json_error_t je;
        json_t *info = json_load_file(shared_path(rel), 0, &je);
        CHECK(info != NULL, "%s: %s", rel, je.text);
        owl_model *m = NULL;
        CHECK(owl_model_open(path, &m, &err) == OWL_OK, "%s: %s", name, err.message);
        if (!info || !m) {
            json_decref(info);
            owl_model_close(m);
            continue;
        }
        json_t *tensors = json_object_get(info, "tensors");
        size_t i, n_checked = 0;
        json_t *t;
        json_array_foreach(tensors, i, t) {
            const char *tn = json_string_value(json_object_get(t, "name"));
            const char *want = json_string_value(json_object_get(t, "type"));
            const owl_tensor *ot = tn ? owl_model_find_tensor(m, tn) : NULL;
            CHECK(ot != NULL, "%s: no tensor %s", name, tn ? tn : "?");
            if (!ot || !want) continue;
            const char *got = owl_dtype_name(ot->dtype);
            CHECK(got && !strcmp(got, want), "%s: %s is %s, llama-quantize chose %s", name, tn, got ? got : "?", want);
            n_checked++;
        }
        CHECK(n_checked == owl_model_get_info(m)->n_tensors && n_checked == 21, "%s: %zu tensors checked", name, n_checked);
        CHECK(file_type_of(m) == RECIPES[r].ftype, "%s: general.file_type %lld", name, (long long)file_type_of(m));
        CHECK(runs_finite(m), "%s: the engine runs it to finite logits", name);
        owl_model_close(m);
        json_decref(info);
    }
}

/* A plain K type is llama-quantize --pure: every matrix in it (the dtype_q2_k
 * reference was made that way), file type the type's own. */
static void test_pure_types(void) {
    const int dt[] = {OWL_Q2_K, OWL_Q3_K, OWL_Q4_K, OWL_Q5_K, OWL_Q6_K};
    const int ft[] = {OWL_FTYPE_Q2_K, OWL_FTYPE_Q3_K_S, OWL_FTYPE_Q4_K_S, OWL_FTYPE_Q5_K_S, OWL_FTYPE_Q6_K};
    for (size_t k = 0; k < 5; k++) {
        const char *path = tmp_path("p.gguf");
        owl_error err = {0};
        CHECK(owl_synth("test-k", dt[k], 5, path, &err) == OWL_OK, "%s: %s", owl_dtype_name(dt[k]), err.message);
        owl_model *m = NULL;
        if (owl_model_open(path, &m, &err)) {
            CHECK(0, "%s", err.message);
            continue;
        }
        const owl_model_info *mi = owl_model_get_info(m);
        for (size_t i = 0; i < mi->n_tensors; i++)
            CHECK(mi->tensors[i].dtype == (mi->tensors[i].n_dims == 1 ? OWL_F32 : dt[k]), "%s: %s",
                  owl_dtype_name(dt[k]), mi->tensors[i].name);
        CHECK(file_type_of(m) == ft[k], "%s: file type %lld", owl_dtype_name(dt[k]), (long long)file_type_of(m));
        CHECK(runs_finite(m), "%s runs", owl_dtype_name(dt[k]));
        owl_model_close(m);
    }
}

static void test_names_and_errors(void) {
    CHECK(owl_ftype_by_name("Q4_K_M") == OWL_FTYPE_Q4_K_M && owl_ftype_by_name("Q5_K_S") == OWL_FTYPE_Q5_K_S, "names");
    CHECK(owl_ftype_by_name("Q4_K_X") == -1 && owl_ftype_by_name(NULL) == -1, "unknown names");
    CHECK(!strcmp(owl_ftype_name(OWL_FTYPE_Q3_K_M), "Q3_K_M") && owl_ftype_name(99) == NULL, "ftype names");
    owl_error err = {0};
    CHECK(owl_synth_ftype("test-k", 99, 1, tmp_path("x.gguf"), &err) == OWL_ERR_USAGE, "an unknown file type");
    /* rows of 64: Q4_K falls back to Q5_0 as in llama.cpp, Q3_K to IQ4_NL */
    err = (owl_error){0};
    CHECK(owl_synth_ftype("test-tiny", OWL_FTYPE_Q4_K_M, 1, tmp_path("t.gguf"), &err) == OWL_OK, "%s", err.message);
    owl_model *m = NULL;
    if (owl_model_open(tmp_path("t.gguf"), &m, &err) == OWL_OK) {
        const owl_tensor *q = owl_model_find_tensor(m, "blk.0.attn_q.weight");
        const owl_tensor *o = owl_model_find_tensor(m, "output.weight");
        CHECK(q && q->dtype == OWL_Q5_0 && o && o->dtype == OWL_Q8_0, "fallbacks for rows of 64");
        owl_model_close(m);
    }
    err = (owl_error){0};
    CHECK(owl_synth_ftype("test-tiny", OWL_FTYPE_Q3_K_M, 1, tmp_path("u.gguf"), &err) == OWL_OK, "%s", err.message);
    m = NULL;
    if (owl_model_open(tmp_path("u.gguf"), &m, &err) == OWL_OK) {
        const owl_tensor *q = owl_model_find_tensor(m, "blk.0.attn_q.weight");
        CHECK(q && q->dtype == OWL_IQ4_NL, "Q3_K falls back to IQ4_NL");
        CHECK(runs_finite(m), "the fallback model runs");
        owl_model_close(m);
    }
    /* a plain K type has no fallback: a clear error, no file */
    err = (owl_error){0};
    CHECK(owl_synth("test-tiny", OWL_Q4_K, 1, tmp_path("v.gguf"), &err) == OWL_ERR_UNSUPPORTED, "Q4_K on rows of 64");
    CHECK(strstr(err.message, "multiple of 256") != NULL, "the error says why: %s", err.message);
    CHECK(access(tmp_path("v.gguf"), F_OK) != 0, "no file is left");
}

int main(void) {
    tmpdir_create("test_synth");
    RUN(test_recipes_match_llama_quantize);
    RUN(test_pure_types);
    RUN(test_names_and_errors);
    tmpdir_remove();
    DONE("test_synth");
}
