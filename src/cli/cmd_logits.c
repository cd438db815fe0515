/* cmd_logits.c: `owl logits`: the raw output of the forward pass, for outside
 * checks against llama.cpp and transformers. Either every prompt position's
 * logits as float32 LE (--out), or N greedy steps (--greedy). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/atomic_file.h"

static const char usage[] =
    "usage: owl logits MODEL --ids 1,2,3 [--out F.f32] [--greedy N] [--lora A[:S]] [--threads N] [--ctx N]\n"
    "                   [--kv f16|f32|q8_0] [--json]\n"
    "\n"
    "Runs the prompt ids through the model as one batch (positions 0..n-1).\n"
    "\n"
    "  --ids LIST     comma-separated token ids (required)\n"
    "  --out F        write the logits of every position: n_ids rows of n_vocab\n"
    "                 float32 little-endian values (written atomically)\n"
    "  --greedy N     then take N greedy steps (argmax, lowest id on ties) and print\n"
    "                 the chosen ids\n"
    "  --lora A[:S]   apply LoRA adapter A (a PEFT or MLX directory, or a GGUF LoRA)\n"
    "                 unmerged, scaled by S (default 1); may repeat\n"
    "  --threads N    worker threads (default: all cores)\n"
    "  --ctx N        KV cache cells (default: min(training context, 4096))\n"
    "  --kv TYPE      KV cache type: f16 (default, as llama.cpp), f32 or q8_0\n"
    "  --json         print {\"n_vocab\": V, \"greedy\": [...], \"top\": [[id, logit], ...]} \n"
    "\n"
    "exit status: 0 ok, 1 the model is malformed or unsupported, 2 bad usage, 3 I/O error\n";

static int parse_ids(const char *s, int32_t **ids, int64_t *n) {
    size_t cap = 16;
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    while (*ids && *s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX) return 0;
        if ((size_t)*n == cap && !(*ids = realloc(*ids, (cap *= 2) * sizeof **ids))) return 0;
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return *ids && *n > 0;
}

static int32_t argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

int cmd_logits(int argc, char **argv) {
    const char *model = NULL, *ids_arg = NULL, *out = NULL, *kv = "f16";
    long greedy = 0, threads = 0, ctx = 0;
    int json = 0;
    cli_loras loras = {0};
    int rc = EXIT_OK;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            cli_lora_free(&loras);
            return EXIT_OK;
        }
        int has = i + 1 < argc;
        if (!strcmp(a, "--ids") && has) ids_arg = argv[++i];
        else if (!strcmp(a, "--lora") && has) rc = cli_lora_arg(&loras, "logits", argv[++i]);
        else if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--kv") && has) kv = argv[++i];
        else if (!strcmp(a, "--greedy") && has) greedy = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--threads") && has) threads = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--ctx") && has) ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--json")) json = 1;
        else if (a[0] == '-') rc = cli_usage_error("logits", "unknown option or missing value: %s", a);
        else if (!model) model = a;
        else rc = cli_usage_error("logits", "one model only (got %s and %s)", model, a);
    }
    int32_t *ids = NULL;
    int64_t n = 0;
    if (!rc && !model) rc = cli_usage_error("logits", "no model given");
    if (!rc && (!ids_arg || !parse_ids(ids_arg, &ids, &n)))
        rc = cli_usage_error("logits", "--ids needs comma-separated non-negative integers");
    if (!rc && (greedy < 0 || greedy > 1 << 20 || threads < 0 || threads > 1024 || ctx < 0))
        rc = cli_usage_error("logits", "--greedy, --threads and --ctx take small non-negative numbers");
    if (!rc && strcmp(kv, "f16") && strcmp(kv, "f32") && strcmp(kv, "q8_0"))
        rc = cli_usage_error("logits", "--kv is f16, f32 or q8_0");
    if (rc) {
        free(ids);
        cli_lora_free(&loras);
        return rc;
    }

    owl_error err = {0};
    owl_model *m = NULL;
    owl_engine *e = NULL;
    int8_t *want = calloc((size_t)n, 1);
    float *all = NULL;
    owl_engine_params p = owl_engine_default_params();
    p.n_threads = (int)threads;
    p.kv_type = !strcmp(kv, "f32") ? OWL_KV_F32 : !strcmp(kv, "q8_0") ? OWL_KV_Q8_0 : OWL_KV_F16;
    p.n_ctx = ctx ? ctx : n + greedy + 1;
    p.n_batch = n;
    if (!want || owl_model_open(model, &m, &err) || owl_engine_new(m, &p, &e, &err) || cli_lora_apply(&loras, e, &err)) {
        rc = want ? cli_report_error(&err) : EXIT_OTHER;
        goto done;
    }
    int64_t V = owl_engine_n_vocab(e);
    for (int64_t i = 0; i < n; i++) want[i] = 1;
    owl_batch b = {.n_tokens = n, .tokens = ids, .logits = want};
    if (owl_engine_decode(e, &b, &err)) {
        rc = cli_report_error(&err);
        goto done;
    }
    if (!(all = malloc((size_t)(n * V) * sizeof(float)))) {
        rc = EXIT_OTHER;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) memcpy(all + i * V, owl_engine_logits(e, i), (size_t)V * sizeof(float));
    if (out) {
        owl_atomic_file f;
        if (owl_atomic_open(&f, out, &err)) {
            rc = cli_report_error(&err);
            goto done;
        }
        owl_atomic_write(&f, all, (size_t)(n * V) * sizeof(float));
        if (owl_atomic_commit(&f, &err)) {
            rc = cli_report_error(&err);
            goto done;
        }
    }
    json_t *steps = json_array();
    int32_t tok = argmax(all + (n - 1) * V, V);
    for (long k = 0; k < greedy; k++) {
        json_array_append_new(steps, json_integer(tok));
        if (k + 1 == greedy) break;
        owl_batch g = {.n_tokens = 1, .tokens = &tok};
        if (owl_engine_decode(e, &g, &err)) {
            json_decref(steps);
            rc = cli_report_error(&err);
            goto done;
        }
        tok = argmax(owl_engine_logits(e, 0), V);
    }
    if (json) {
        json_t *o = json_pack("{s:I, s:I, s:o}", "n_vocab", (json_int_t)V, "n_ids", (json_int_t)n, "greedy", steps);
        char *s = json_dumps(o, JSON_COMPACT);
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        for (size_t k = 0; k < json_array_size(steps); k++)
            printf(k ? " %lld" : "%lld", (long long)json_integer_value(json_array_get(steps, k)));
        if (greedy) putchar('\n');
        json_decref(steps);
    }
done:
    free(all);
    free(want);
    free(ids);
    owl_engine_free(e);
    cli_lora_free(&loras);
    owl_model_close(m);
    return rc;
}
