/* cli_lora.c: the --lora ADAPTER[:SCALE] option that run, chat and logits
 * share: collected while the arguments are parsed, opened and added to the
 * engine once it exists, closed after it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* A trailing ":NUMBER" is the scale; any other colon belongs to the path.
   The scale is cut off in place (argv is writable), so nothing is allocated
   before the verb has checked all its arguments. */
int cli_lora_arg(cli_loras *l, const char *verb, char *arg) {
    if (l->n == CLI_MAX_LORAS) return cli_usage_error(verb, "at most %d --lora adapters", CLI_MAX_LORAS);
    float scale = 1.0f;
    char *colon = strrchr(arg, ':');
    if (colon && colon[1]) {
        char *end;
        errno = 0;
        double v = strtod(colon + 1, &end);
        if (!*end && !errno) {
            if (!isfinite(v) || fabs(v) > 1e6) return cli_usage_error(verb, "--lora %s: the scale is not a usable number", arg);
            scale = (float)v;
            *colon = '\0';
        }
    }
    if (!*arg) return cli_usage_error(verb, "--lora needs ADAPTER[:SCALE] (a PEFT or MLX directory, or a GGUF LoRA)");
    l->path[l->n] = arg;
    l->scale[l->n++] = scale;
    return EXIT_OK;
}

owl_status cli_lora_apply(cli_loras *l, owl_engine *e, owl_error *err) {
    for (int i = 0; i < l->n; i++) {
        owl_status st = owl_model_open(l->path[i], &l->m[i], err);
        if (!st) st = owl_engine_add_lora(e, l->m[i], l->scale[i], err);
        if (st) return st;
    }
    return OWL_OK;
}

void cli_lora_free(cli_loras *l) {
    for (int i = 0; i < l->n; i++) owl_model_close(l->m[i]);
    memset(l, 0, sizeof *l);
}
