/* cmd_merge.c: `owl merge`: LoRA adapters folded into a GGUF base model,
 * written as a new GGUF (owl_lora_merge does the work). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl merge BASE ADAPTER[:SCALE] [ADAPTER[:SCALE] ...] --out F.gguf [--type T] [--json]\n"
    "\n"
    "Folds LoRA adapters into the base model's weights: W' = W + SCALE * s * B A for every\n"
    "weight an adapter targets (s = alpha/r, or alpha/sqrt(r) with rsLoRA), dequantized,\n"
    "added in F32 and quantized back. Every other tensor and all metadata are copied.\n"
    "\n"
    "  BASE          a GGUF model\n"
    "  ADAPTER       a PEFT or MLX adapter directory, or a GGUF LoRA; SCALE defaults to 1\n"
    "  --out F       the merged GGUF to write (atomically: F appears only when complete)\n"
    "  --type T      store the merged weights as T (F32, F16, BF16, Q8_0, Q4_0, Q4_K, ...)\n"
    "                instead of each weight's own type; weights whose rows are not whole\n"
    "                blocks of T keep theirs\n"
    "  --json        print {out, tensors, merged, bytes} as JSON\n"
    "\n"
    "A progress bar is shown on a terminal.\n"
    "\n"
    "exit status: 0 ok, 1 a model or adapter is malformed, unsupported or does not fit, 2 bad usage, 3 I/O error\n";

static int dtype_by_name(const char *s) {
    for (int t = 0; t < OWL_DTYPE_LIMIT; t++)
        if (owl_dtype_name(t) && !strcasecmp(owl_dtype_name(t), s)) return t;
    return -1;
}

int cmd_merge(int argc, char **argv) {
    const char *base = NULL, *out = NULL, *type = NULL;
    int json = 0, rc = EXIT_OK;
    cli_loras loras = {0};
    for (int i = 1; i < argc && !rc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        int has = i + 1 < argc;
        if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--type") && has) type = argv[++i];
        else if (!strcmp(a, "--json")) json = 1;
        else if (a[0] == '-') rc = cli_usage_error("merge", "unknown option or missing value: %s", a);
        else if (!base) base = a;
        else rc = cli_lora_arg(&loras, "merge", a);
    }
    if (rc) return rc;
    if (!base || !loras.n) return cli_usage_error("merge", "give a BASE model and at least one ADAPTER");
    if (!out) return cli_usage_error("merge", "--out F.gguf is required");
    int dtype = -1;
    if (type && (dtype = dtype_by_name(type)) < 0) return cli_usage_error("merge", "--type %s: not a weight type owl knows", type);

    owl_error err = {0};
    owl_model *m = NULL;
    owl_merge_result r = {0};
    if (owl_model_open(base, &m, &err)) goto fail;
    for (int i = 0; i < loras.n; i++)
        if (owl_model_open(loras.path[i], &loras.m[i], &err)) goto fail;
    owl_merge_params p = {.adapters = (const owl_model *const *)loras.m, .scales = loras.scale, .n_adapters = (size_t)loras.n,
                          .dtype = dtype, .progress = cli_progress, .progress_ctx = "merging"};
    if (owl_lora_merge(m, &p, out, &r, &err)) goto fail;
    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "out", out, "tensors", (json_int_t)r.n_tensors, "merged",
                              (json_int_t)r.n_merged, "bytes", (json_int_t)r.bytes);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("%s: %zu of %zu tensors merged, %llu bytes\n", out, r.n_merged, r.n_tensors, (unsigned long long)r.bytes);
    }
    goto done;
fail:
    rc = cli_report_error(&err);
done:
    cli_lora_free(&loras);
    owl_model_close(m);
    return rc;
}
