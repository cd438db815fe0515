/* cmd_bench.c: `owl bench`: tokens/s of prompt processing and generation at
 * each thread count, with their spread, the peak memory, and the fraction of
 * this machine's measured ceilings reached (read bandwidth for generation,
 * F32 FMA or int8 dot-product peak for prompts); `--machine` only measures
 * the ceilings. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl bench MODEL [-p 512] [-n 128] [-t 1,2] [-r 5] [--kv f16|f32|q8_0] [--json]\n"
    "       owl bench --machine [-t 1,2] [--json]\n"
    "\n"
    "Prompt processing (pp: one batch of -p tokens) and generation (tg: -n single\n"
    "steps) in tokens/s, mean +- standard deviation over -r runs after a warm-up,\n"
    "for each thread count in -t. Each line also shows the fraction of the ceiling\n"
    "this machine reaches, measured first: for tg, bytes of weights read per token x\n"
    "tokens/s over the streaming read bandwidth; for pp, FLOP/s over the F32 FMA peak\n"
    "(float weights) or the int8 dot-product peak (quantized weights).\n"
    "\n"
    "  --machine   only measure the ceilings (read bandwidth, FMA and int8 peaks)\n"
    "  --json      one JSON object with every figure\n"
    "\n"
    "exit status: 0 ok, 1 the model is malformed or unsupported, 2 bad usage, 3 I/O error\n";

static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* Starts a new peak-RSS measurement (Linux: "5" to clear_refs resets VmHWM), so
   the bandwidth probe's buffers do not count against the model. 1 if it worked. */
static int reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* What running the model needs at least: its weights and the bench's KV cache. */
static void model_floor(const owl_model *m, int64_t n_ctx, int kv, double *weights_mb, double *kv_mb) {
    const owl_model_info *mi = owl_model_get_info(m);
    uint64_t w = 0;
    for (size_t i = 0; i < mi->n_tensors; i++) w += mi->tensors[i].n_bytes;
    const owl_hparams *hp = &mi->hp;
    int64_t hd = hp->head_dim ? hp->head_dim : (hp->n_head ? hp->n_embd / hp->n_head : 0);
    double elt = kv == OWL_KV_F32 ? 4 : kv == OWL_KV_Q8_0 ? 34.0 / 32 : 2;
    *weights_mb = (double)w / (1 << 20);
    *kv_mb = 2.0 * (double)hp->n_layer * (double)hp->n_head_kv * (double)hd * (double)n_ctx * elt / (1 << 20);
}

static int parse_list(const char *s, int *v, int max, int *n) {
    *n = 0;
    while (*s && *n < max) {
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno || x < 1 || x > 64) return 0;
        v[(*n)++] = (int)x;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return *n > 0 && !*s;
}

static int quantized(const owl_model *m) {
    const owl_model_info *in = owl_model_get_info(m);
    for (size_t i = 0; i < in->n_tensors; i++)
        if (in->tensors[i].n_dims >= 2 && in->tensors[i].dtype != OWL_F32 && in->tensors[i].dtype != OWL_F16 &&
            in->tensors[i].dtype != OWL_BF16)
            return 1;
    return 0;
}

int cmd_bench(int argc, char **argv) {
    const char *model = NULL, *kv = "f16";
    long n_prompt = 512, n_gen = 128, reps = 5;
    int threads[8] = {1, 2}, n_threads = 2, json = 0, machine_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        char *end = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "-p") && has) {
            n_prompt = strtol(argv[++i], &end, 10);
            if (*end || n_prompt < 0 || n_prompt > 65536) return cli_usage_error("bench", "-p takes 0..65536");
        } else if (!strcmp(a, "-n") && has) {
            n_gen = strtol(argv[++i], &end, 10);
            if (*end || n_gen < 0 || n_gen > 65536) return cli_usage_error("bench", "-n takes 0..65536");
        } else if (!strcmp(a, "-r") && has) {
            reps = strtol(argv[++i], &end, 10);
            if (*end || reps < 1 || reps > 100) return cli_usage_error("bench", "-r takes 1..100");
        } else if (!strcmp(a, "-t") && has) {
            if (!parse_list(argv[++i], threads, 8, &n_threads)) return cli_usage_error("bench", "-t takes thread counts like 1,2");
        } else if (!strcmp(a, "--kv") && has) kv = argv[++i];
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--machine")) machine_only = 1;
        else if (a[0] == '-') return cli_usage_error("bench", "unknown option or missing value: %s", a);
        else if (!model) model = a;
        else return cli_usage_error("bench", "one model only (got %s and %s)", model, a);
    }
    if (!model && !machine_only) return cli_usage_error("bench", "no model given (or --machine)");
    if (n_prompt + n_gen < 1) return cli_usage_error("bench", "-p and -n are both 0: nothing to measure");
    if (strcmp(kv, "f16") && strcmp(kv, "f32") && strcmp(kv, "q8_0")) return cli_usage_error("bench", "--kv is f16, f32 or q8_0");
    owl_error err = {0};
    owl_model *m = NULL;
    if (model && owl_model_open(model, &m, &err)) return cli_report_error(&err);
    json_t *runs = json_array();
    int rc = EXIT_OK, quant = m ? quantized(m) : 0;
    if (!json && m) printf("%s (%s kernels)\n", model, "fast");
    /* the ceilings first, so their 1 GiB buffers are gone before the model's peak RSS is measured */
    owl_machine_limits limits[8];
    for (int k = 0; k < n_threads && !rc; k++)
        if (owl_bench_machine(threads[k], &limits[k], &err)) rc = cli_report_error(&err);
    int rss_clean = !rc && reset_peak_rss();
    for (int k = 0; k < n_threads && !rc; k++) {
        owl_machine_limits lim = limits[k];
        json_t *run = json_pack("{s:i, s:{s:f, s:f, s:f, s:s}}", "threads", threads[k], "machine", "read_gb_per_s",
                                lim.read_bytes_per_s / 1e9, "fma_gflop_per_s", lim.fma_flops / 1e9, "int8_gop_per_s",
                                lim.int8_ops / 1e9, "isa", lim.isa);
        if (!json)
            printf("  %d thread%s: machine: read %.1f GB/s, F32 FMA %.0f GFLOP/s, int8 %.0f GOP/s (%s)\n", threads[k],
                   threads[k] > 1 ? "s" : " ", lim.read_bytes_per_s / 1e9, lim.fma_flops / 1e9, lim.int8_ops / 1e9, lim.isa);
        if (m) {
            owl_bench_params bp = {n_prompt, n_gen, threads[k], (int)reps,
                                   !strcmp(kv, "f32") ? OWL_KV_F32 : !strcmp(kv, "q8_0") ? OWL_KV_Q8_0 : OWL_KV_F16};
            owl_bench_result r;
            if (owl_bench_model(m, &bp, &r, &err)) {
                json_decref(run);
                rc = cli_report_error(&err);
                break;
            }
            double peak = quant && lim.int8_ops > 0 ? lim.int8_ops : lim.fma_flops;
            double bw_frac = r.tg_tokens_per_s * (double)r.bytes_per_token / lim.read_bytes_per_s;
            double fl_frac = r.pp_tokens_per_s * r.flops_per_token / peak;
            json_object_set_new(run, "model",
                                json_pack("{s:I, s:f, s:f, s:I, s:f, s:f, s:I, s:f, s:f, s:f, s:s}", "n_prompt",
                                          (json_int_t)n_prompt, "pp_tokens_per_s", r.pp_tokens_per_s, "pp_sd", r.pp_sd,
                                          "n_gen", (json_int_t)n_gen, "tg_tokens_per_s", r.tg_tokens_per_s, "tg_sd", r.tg_sd,
                                          "bytes_per_token", (json_int_t)r.bytes_per_token, "flops_per_token",
                                          r.flops_per_token, "tg_fraction_of_bandwidth", bw_frac,
                                          "pp_fraction_of_peak", fl_frac, "pp_peak", quant && lim.int8_ops > 0 ? "int8" : "fma"));
            if (!json) {
                if (n_prompt)
                    printf("    pp%-5ld %9.2f +- %-7.2f tokens/s  %5.1f%% of the %s peak\n", n_prompt, r.pp_tokens_per_s,
                           r.pp_sd, 100 * fl_frac, quant && lim.int8_ops > 0 ? "int8" : "FMA");
                if (n_gen)
                    printf("    tg%-5ld %9.2f +- %-7.2f tokens/s  %5.1f%% of read bandwidth (%.1f MB per token)\n", n_gen,
                           r.tg_tokens_per_s, r.tg_sd, 100 * bw_frac, (double)r.bytes_per_token / 1e6);
            }
        }
        json_array_append_new(runs, run);
    }
    if (!rc) {
        long rss = peak_rss_kb();
        double wmb = 0, kvmb = 0;
        int kvt = !strcmp(kv, "f32") ? OWL_KV_F32 : !strcmp(kv, "q8_0") ? OWL_KV_Q8_0 : OWL_KV_F16;
        if (m) model_floor(m, n_prompt + n_gen + 1, kvt, &wmb, &kvmb);
        if (json) {
            json_t *o = json_pack("{s:s?, s:O, s:I, s:b, s:f, s:f}", "model", model, "runs", runs, "peak_rss_kb",
                                  (json_int_t)rss, "peak_rss_model_only", rss_clean, "weights_mb", wmb, "kv_cache_mb", kvmb);
            char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (s) puts(s);
            free(s);
            json_decref(o);
        } else if (m) {
            double mb = (double)rss / 1024;
            if (rss_clean)
                printf("  peak RSS %.1f MiB = weights %.1f + KV cache %.1f + %.1f%%\n", mb, wmb, kvmb,
                       100 * (mb / (wmb + kvmb) - 1));
            else
                printf("  peak RSS %.1f MiB (the bandwidth probe's buffers included)\n", mb);
        }
    }
    json_decref(runs);
    owl_model_close(m);
    return rc;
}
