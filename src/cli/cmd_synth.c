/* cmd_synth.c: `owl synth`: a random-weight model of a real shape, in the
 * weight type asked for, so benchmarks need no download. */
#define _POSIX_C_SOURCE 200809L
#include <strings.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl synth --shape NAME --type T --out F.gguf [--seed S]\n"
    "       owl synth --list\n"
    "\n"
    "Writes a GGUF model of a real architecture's shape with seeded random\n"
    "weights (N(0, 1/fan_in)) and a synthetic SentencePiece vocabulary, for\n"
    "benchmarks and tests. T is a weight type for every matrix: F32, F16, BF16,\n"
    "Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (norms stay\n"
    "F32; the K types need rows of a multiple of 256);\n"
    "or one of llama-quantize's mixed recipes Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S,\n"
    "Q4_K_M, Q5_K_S, Q5_K_M, which choose a type per tensor as llama.cpp does\n"
    "(output Q6_K, attn_v and ffn_down bigger on some layers).\n"
    "\n"
    "  --list      the shapes\n"
    "\n"
    "exit status: 0 ok, 1 unsupported type, 2 bad usage, 3 I/O error\n";

int cmd_synth(int argc, char **argv) {
    const char *shape = NULL, *type = "F16", *out = NULL;
    unsigned long long seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--list")) {
            const char *d, *n;
            for (size_t k = 0; (n = owl_synth_shapes(k, &d)); k++) printf("%-16s %s\n", n, d);
            return EXIT_OK;
        } else if (!strcmp(a, "--shape") && has) shape = argv[++i];
        else if (!strcmp(a, "--type") && has) type = argv[++i];
        else if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--seed") && has) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || errno) return cli_usage_error("synth", "--seed takes a number");
        } else return cli_usage_error("synth", "unknown option or missing value: %s", a);
    }
    if (!shape || !out) return cli_usage_error("synth", "--shape and --out are required (owl synth --list shows the shapes)");
    int dtype = -1;
    for (int t = 0; t < 64 && dtype < 0; t++) {
        const char *nm = owl_dtype_name(t);
        if (nm && !strcasecmp(nm, type)) dtype = t;
    }
    int ftype = dtype < 0 ? owl_ftype_by_name(type) : -1;
    if (dtype < 0 && ftype < 0)
        return cli_usage_error("synth", "unknown weight type '%s' (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q4_K_M, ...)", type);
    owl_error err = {0};
    if (dtype >= 0 ? owl_synth(shape, dtype, seed, out, &err) : owl_synth_ftype(shape, ftype, seed, out, &err))
        return cli_report_error(&err);
    return EXIT_OK;
}
