/* cmd_inspect.c: `owl inspect MODEL`: what a model, adapter or tokenizer
 * holds. The library builds one JSON report; --json prints it, otherwise it
 * is rendered here as text for people. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl inspect MODEL [--ctx N] [--hash] [--json] [--summary] [--metadata] [--all]\n"
    "\n"
    "Shows what MODEL holds: format, family, hyperparameters, parameter count,\n"
    "the tensor table (name, dtype, shape in ggml order, bytes, offset), totals\n"
    "per dtype, memory needed to run, tokenizer, special tokens, chat template\n"
    "and licence fields.\n"
    "\n"
    "MODEL is a GGUF file, a safetensors file, a Hugging Face model directory,\n"
    "a PEFT or MLX LoRA adapter directory, a llama2.c checkpoint (.bin), or a\n"
    "tokenizer file (tokenizer.json, SentencePiece .model, llama2.c tokenizer .bin,\n"
    "a directory with encoder.json + vocab.bpe).\n"
    "\n"
    "  --ctx N      context length for the memory estimate (default: training context)\n"
    "  --hash       add the SHA-256 of every file read\n"
    "  --json       print one JSON object instead of text\n"
    "  --summary    leave out the tensor table\n"
    "  --metadata   list every metadata key (long arrays shortened unless --all)\n"
    "  --all        with --metadata or --json: long arrays in full\n"
    "\n"
    "exit status: 0 ok, 1 the file is malformed or unsupported, 2 bad usage, 3 I/O error\n";

static const char *human_bytes(double b, char *buf, size_t cap) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) b /= 1024, u++;
    snprintf(buf, cap, u ? "%.2f %s" : "%.0f %s", b, units[u]);
    return buf;
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static void print_shape(json_t *shape, char *buf, size_t cap) {
    size_t k = 0;
    buf[k++] = '[';
    for (size_t i = 0; i < json_array_size(shape) && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)json_integer_value(json_array_get(shape, i)));
    snprintf(buf + k, cap - k, "]");
}

static void print_value(json_t *v) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s) return;
    if (strlen(s) > 200) strcpy(s + 197, "...");
    fputs(s, stdout);
    free(s);
}

static void render_text(json_t *r, int summary, int metadata) {
    char b1[64], b2[64];
    printf("%s\n", str_or(r, "path", "?"));
    printf("  format        %s", str_or(r, "format", "?"));
    if (json_object_get(r, "gguf_version")) printf(" v%lld", (long long)json_integer_value(json_object_get(r, "gguf_version")));
    printf("\n  architecture  %s\n  family        %s\n", str_or(r, "architecture", "-"), str_or(r, "family", "-"));
    if (json_string_value(json_object_get(r, "name"))) printf("  name          %s\n", str_or(r, "name", ""));
    json_int_t params = json_integer_value(json_object_get(r, "parameters"));
    json_int_t bytes = json_integer_value(json_object_get(r, "tensor_bytes"));
    json_t *tensors = json_object_get(r, "tensors");
    printf("  parameters    %lld (%.3g M)\n  tensors       %zu, %s\n", (long long)params, (double)params / 1e6,
           json_array_size(tensors), human_bytes((double)bytes, b1, sizeof b1));

    json_t *hp = json_object_get(r, "hparams");
    if (json_object_size(hp) > 1) {
        printf("\nhyperparameters\n");
        const char *k;
        json_t *v;
        json_object_foreach(hp, k, v) {
            printf("  %-17s ", k);
            print_value(v);
            putchar('\n');
        }
    }
    json_t *mem = json_object_get(r, "memory");
    if (mem) {
        printf("\nmemory to run at %lld tokens of context (KV cache F16)\n", (long long)json_integer_value(json_object_get(mem, "n_ctx")));
        static const char *const parts[] = {"weights", "kv_cache", "work", "total"};
        for (int i = 0; i < 4; i++)
            printf("  %-9s %s\n", parts[i], human_bytes((double)json_integer_value(json_object_get(mem, parts[i])), b1, sizeof b1));
    }
    json_t *totals = json_object_get(r, "dtype_totals");
    if (json_object_size(totals)) {
        printf("\nper dtype\n  %-8s %8s %14s %12s\n", "dtype", "tensors", "parameters", "bytes");
        const char *k;
        json_t *v;
        json_object_foreach(totals, k, v)
            printf("  %-8s %8lld %14lld %12s\n", k, (long long)json_integer_value(json_object_get(v, "tensors")),
                   (long long)json_integer_value(json_object_get(v, "parameters")),
                   human_bytes((double)json_integer_value(json_object_get(v, "bytes")), b2, sizeof b2));
    }
    if (!summary && json_array_size(tensors)) {
        printf("\ntensors\n  %-44s %-7s %-26s %12s %12s\n", "name", "dtype", "shape", "bytes", "offset");
        size_t i;
        json_t *t;
        json_array_foreach(tensors, i, t) {
            char shape[128];
            print_shape(json_object_get(t, "shape"), shape, sizeof shape);
            printf("  %-44s %-7s %-26s %12lld %12lld", str_or(t, "name", "?"), str_or(t, "dtype", "?"), shape,
                   (long long)json_integer_value(json_object_get(t, "bytes")),
                   (long long)json_integer_value(json_object_get(t, "offset")));
            if (json_object_get(t, "source_name")) printf("  (%s)", str_or(t, "source_name", ""));
            putchar('\n');
        }
    }
    json_t *tok = json_object_get(r, "tokenizer");
    printf("\ntokenizer\n  kind      %s", str_or(tok, "kind", "none"));
    if (json_object_get(tok, "pre")) printf(" (pre: %s)", str_or(tok, "pre", ""));
    printf("\n  vocab     %lld\n", (long long)json_integer_value(json_object_get(tok, "n_vocab")));
    if (json_object_get(tok, "n_merges")) printf("  merges    %lld\n", (long long)json_integer_value(json_object_get(tok, "n_merges")));
    if (json_object_get(tok, "n_added")) printf("  added     %lld\n", (long long)json_integer_value(json_object_get(tok, "n_added")));
    if (json_object_get(tok, "add_bos")) printf("  add_bos   %s\n", json_is_true(json_object_get(tok, "add_bos")) ? "yes" : "no");
    if (json_object_get(tok, "add_eos")) printf("  add_eos   %s\n", json_is_true(json_object_get(tok, "add_eos")) ? "yes" : "no");
    size_t i;
    json_t *sp;
    json_array_foreach(json_object_get(tok, "special"), i, sp) {
        printf("  %-9s %lld", str_or(sp, "role", "?"), (long long)json_integer_value(json_object_get(sp, "id")));
        if (json_string_value(json_object_get(sp, "text"))) printf("  %s", str_or(sp, "text", ""));
        putchar('\n');
    }
    const char *tmpl = json_string_value(json_object_get(r, "chat_template"));
    if (tmpl) {
        printf("\nchat template (%zu bytes; first lines)\n", strlen(tmpl));
        int lines = 0;
        const char *p = tmpl;
        while (*p && lines < 6) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            printf("  | %.*s%s\n", (int)(n > 100 ? 100 : n), p, n > 100 ? "..." : "");
            lines++;
            p += n + (e ? 1 : 0);
        }
        if (*p) printf("  | ...\n");
    }
    json_t *lic = json_object_get(r, "license");
    printf("\nlicence\n");
    if (!json_object_size(lic)) printf("  none declared in the files read\n");
    const char *k;
    json_t *v;
    json_object_foreach(lic, k, v) {
        printf("  %-13s ", k);
        if (json_is_string(v)) fputs(json_string_value(v), stdout);
        else print_value(v);
        putchar('\n');
    }
    json_t *open = json_object_get(r, "openness");
    if (open) printf("  %-13s %s (%s)\n", "openness", json_string_value(json_object_get(open, "class")),
                     json_string_value(json_object_get(open, "evidence")));
    json_t *ad = json_object_get(r, "adapter");
    if (ad) {
        printf("\nadapter\n");
        json_object_foreach(ad, k, v) {
            printf("  %-15s ", k);
            print_value(v);
            putchar('\n');
        }
    }
    printf("\nfiles\n");
    json_t *f;
    json_array_foreach(json_object_get(r, "files"), i, f) {
        printf("  %-10s %12s  %s", str_or(f, "role", "?"), human_bytes((double)json_integer_value(json_object_get(f, "size")), b1, sizeof b1),
               str_or(f, "path", "?"));
        if (json_object_get(f, "sha256")) printf("\n  %-10s sha256 %s", "", str_or(f, "sha256", ""));
        putchar('\n');
    }
    if (metadata) {
        printf("\nmetadata\n");
        json_object_foreach(json_object_get(r, "metadata"), k, v) {
            printf("  %-40s ", k);
            print_value(v);
            putchar('\n');
        }
    }
}

int cmd_inspect(int argc, char **argv) {
    owl_inspect_options opt = {0};
    int as_json = 0, summary = 0, metadata = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "--hash")) opt.hash = 1;
        else if (!strcmp(a, "--summary")) summary = 1;
        else if (!strcmp(a, "--metadata")) metadata = 1;
        else if (!strcmp(a, "--all")) opt.all_metadata = 1;
        else if (!strcmp(a, "--ctx")) {
            if (i + 1 >= argc) return cli_usage_error("inspect", "--ctx needs a number");
            char *end;
            errno = 0;
            long long n = strtoll(argv[++i], &end, 10);
            if (errno || *end || n <= 0 || n > (1ll << 32)) return cli_usage_error("inspect", "--ctx expects a positive integer, got '%s'", argv[i]);
            opt.n_ctx = n;
        } else if (a[0] == '-' && a[1]) return cli_usage_error("inspect", "unknown option '%s'", a);
        else if (path) return cli_usage_error("inspect", "one MODEL at a time (got '%s' and '%s')", path, a);
        else path = a;
    }
    if (!path) return cli_usage_error("inspect", "which model? give a file or directory");
    owl_error err = {0};
    owl_model *m = NULL;
    if (owl_model_open(path, &m, &err) != OWL_OK) return cli_report_error(&err);
    char *report = NULL;
    owl_status st = owl_inspect_json(m, &opt, &report, &err);
    owl_model_close(m);
    if (st) return cli_report_error(&err);
    if (as_json) {
        puts(report);
    } else {
        json_t *r = json_loads(report, 0, NULL);
        if (!r) {
            free(report);
            fprintf(stderr, "owl inspect: internal error rendering the report\n");
            return EXIT_OTHER;
        }
        render_text(r, summary, metadata);
        json_decref(r);
    }
    free(report);
    return EXIT_OK;
}
