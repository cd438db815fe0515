/* main.c: the owl command: picks the verb and hands over. Each verb lives in
 * its own cmd_*.c file and is a thin client of libowl. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verb_entry;

static const verb_entry verbs[] = {
    {"inspect", cmd_inspect, "show what a model, adapter or tokenizer file holds"},
    {"tokenize", cmd_tokenize, "turn text into token ids"},
    {"detokenize", cmd_detokenize, "turn token ids back into text"},
    {"chat", cmd_chat, "talk with a model in its own chat format"},
    {"template", cmd_template, "render a conversation through a chat template, exactly"},
    {"run", cmd_run, "generate text from a prompt, streamed as it comes"},
    {"serve", cmd_serve, "an OpenAI-compatible HTTP server on loopback"},
    {"synth", cmd_synth, "write a random-weight model of a real shape (for benchmarks)"},
    {"bench", cmd_bench, "measure tokens/s against this machine's ceilings"},
    {"finetune", cmd_finetune, "train a LoRA adapter on local data (PEFT and GGUF outputs)"},
    {"logits", cmd_logits, "run the forward pass: logits and greedy ids of a prompt"},
    {"merge", cmd_merge, "fold LoRA adapters into a base model's weights (a new GGUF)"},
    {"manifest", cmd_manifest, "print a model's provenance manifest (file and tensor digests)"},
    {"keygen", cmd_keygen, "make an Ed25519 key pair for signing manifests"},
    {"sign", cmd_sign, "sign a manifest with an Ed25519 key"},
    {"verify", cmd_verify, "check a model against its (signed) manifest"},
    {"audit", cmd_audit, "verify an audit log's hash chain (naming the first bad line) and query its events"},
    {"license", cmd_license, "a model's licence, its terms and duties; check an intended use"},
};

static void print_help(FILE *out) {
    fprintf(out, "owl %s: run, inspect, serve, fine-tune and audit open-weight language models locally.\n\n"
                 "usage: owl VERB [options]   (owl VERB --help for details)\n\nverbs:\n", OWL_VERSION);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "  %-10s %s\n", "version", "print the version");
}

int cli_report_error(const owl_error *err) {
    fprintf(stderr, "owl: %s\n", err->message);
    switch (err->status) {
    case OWL_ERR_INPUT: return EXIT_INPUT;
    case OWL_ERR_USAGE: return EXIT_USAGE;
    case OWL_ERR_UNSUPPORTED: return EXIT_INPUT;
    case OWL_ERR_DENIED: return EXIT_INPUT;
    default: return EXIT_OTHER;
    }
}

int cli_usage_error(const char *verb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "owl %s: ", verb);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see: owl %s --help)\n", verb);
    return EXIT_USAGE;
}

const char *cli_accept_dir(char *buf, size_t cap) {
    const char *d = getenv("OWL_ACCEPT_DIR"), *home = getenv("HOME");
    if (d && *d) snprintf(buf, cap, "%s", d);
    else snprintf(buf, cap, "%s/.config/owl/accepted", home && *home ? home : ".");
    return buf;
}

int cli_enforce_policy(const char *policy_path, const owl_model *m, int accept_now) {
    if (!policy_path || !*policy_path) policy_path = getenv("OWL_POLICY");
    if (!policy_path || !*policy_path) return EXIT_OK;
    owl_error err = {0};
    owl_policy *p = NULL;
    char dir[4096];
    owl_status st = owl_policy_load(policy_path, &p, &err);
    if (!st) st = owl_policy_enforce(p, m, cli_accept_dir(dir, sizeof dir), accept_now, &err);
    owl_policy_free(p);
    return st ? cli_report_error(&err) : EXIT_OK;
}

void cli_progress(void *ctx, uint64_t done, uint64_t total) {
    const char *label = ctx;
    if (!isatty(2) || !total) return;
    int width = 30, filled = (int)(width * (double)done / (double)total);
    fprintf(stderr, "\r%-24.24s [%.*s%*s] %5.1f%%", label ? label : "", filled,
            "##############################", width - filled, "", 100.0 * (double)done / (double)total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("owl %s\n", OWL_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(argv[1], verbs[i].name)) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "owl: unknown verb '%s'\n\n", argv[1]);
    print_help(stderr);
    return EXIT_USAGE;
}
