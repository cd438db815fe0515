/* cmd_serve.c: `owl serve`, the OpenAI-compatible server: parses the options,
 * starts owl_server, waits for SIGINT/SIGTERM and shuts down. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MODELS 16

static const char *usage =
    "usage: owl serve --model NAME=PATH [--model ...] [--chat-template FILE] [--host 127.0.0.1]\n"
    "                 [--port 8080] [--api-key-file F] [--ctx N] [--threads N] [--max-body BYTES]\n"
    "                 [--timeout S] [--queue N] [--request-timeout S] [--policy F] [--accept-license]\n"
    "                 [--require-signed PUBKEY --manifest M.json (after each --model)]\n"
    "                 [--audit-log F [--audit-content]]\n"
    "  An OpenAI-compatible server: /v1/chat/completions, /v1/completions, /v1/models,\n"
    "  /tokenize, /detokenize, /health, /metrics. More than --queue waiting requests\n  get 429 with Retry-After. Binds loopback; another --host needs --api-key-file\n"
    "  (lines ID:KEY, key 16+ characters; clients send Authorization: Bearer KEY).\n"
    "  --chat-template applies to the --model before it. --policy F (default $OWL_POLICY):\n"
    "  refuse to start unless every model's licence passes the organisation's policy;\n"
    "  --accept-license records acceptance of the terms where the policy requires it.\n"
    "  --require-signed P: refuse to start unless every model matches its --manifest\n"
    "  (given after that --model) signed by public key P (see owl manifest, owl sign).\n"
    "  --audit-log F: append one hash-chained JSON line per request (but GET /health) to F,\n"
    "  on disk before the response goes out: time, request id, key id, route, model name and\n"
    "  digest, template digest, sampler settings and seed, token counts, status, duration.\n"
    "  A request whose line cannot be written fails with 500. An existing log's chain is\n"
    "  continued. --audit-content also records prompts and answers (1 MiB each at most).\n"
    "  Check and search the log with owl audit verify F and owl audit query F.\n"
    "  Every model's digest (the manifest's tensor_data_sha256, shown by /v1/models and sent\n"
    "  as X-Owl-Model-Digest) is computed at start: reading all weights once, about a second\n"
    "  per GB before the server listens.\n";

static int num(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int cmd_serve(int argc, char **argv) {
    owl_server_params p = owl_server_default_params();
    const char *names[MAX_MODELS], *paths[MAX_MODELS], *tmpl[MAX_MODELS] = {0}, *manifests[MAX_MODELS] = {0};
    const char *require_signed = NULL;
    static char name_buf[MAX_MODELS][128];
    size_t n = 0;
    long v;
    const char *policy = NULL;
    int accept_license = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); return EXIT_OK; }
        if (!strcmp(a, "--accept-license")) { accept_license = 1; continue; }
        if (!strcmp(a, "--audit-content")) { p.audit_content = 1; continue; }
        if (i + 1 >= argc) return cli_usage_error("serve", "%s needs a value (or unknown option)", a);
        const char *val = argv[++i];
        if (!strcmp(a, "--model")) {
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || !eq[1] || (size_t)(eq - val) >= sizeof name_buf[0])
                return cli_usage_error("serve", "--model takes NAME=PATH");
            if (n == MAX_MODELS) return cli_usage_error("serve", "at most %d models", MAX_MODELS);
            memcpy(name_buf[n], val, (size_t)(eq - val));
            name_buf[n][eq - val] = 0;
            names[n] = name_buf[n];
            paths[n] = eq + 1;
            n++;
        } else if (!strcmp(a, "--chat-template")) {
            if (!n) return cli_usage_error("serve", "--chat-template follows the --model it applies to");
            tmpl[n - 1] = val;
        } else if (!strcmp(a, "--manifest")) {
            if (!n) return cli_usage_error("serve", "--manifest follows the --model it describes");
            manifests[n - 1] = val;
        } else if (!strcmp(a, "--require-signed")) {
            require_signed = val;
        } else if (!strcmp(a, "--audit-log")) {
            p.audit_log = val;
        } else if (!strcmp(a, "--policy")) {
            policy = val;
        } else if (!strcmp(a, "--host")) {
            p.host = val;
        } else if (!strcmp(a, "--port")) {
            if (!num(val, 0, 65535, &v)) return cli_usage_error("serve", "--port takes 0..65535");
            p.port = (int)v;
        } else if (!strcmp(a, "--api-key-file")) {
            p.api_key_file = val;
        } else if (!strcmp(a, "--ctx")) {
            if (!num(val, 0, 1 << 20, &v)) return cli_usage_error("serve", "--ctx takes 0..1048576");
            p.n_ctx = v;
        } else if (!strcmp(a, "--threads")) {
            if (!num(val, 0, 1024, &v)) return cli_usage_error("serve", "--threads takes 0..1024");
            p.n_threads = (int)v;
        } else if (!strcmp(a, "--max-body")) {
            if (!num(val, 1024, 1L << 30, &v)) return cli_usage_error("serve", "--max-body takes 1024..1073741824");
            p.max_body = (size_t)v;
        } else if (!strcmp(a, "--queue")) {
            if (!num(val, 1, 4096, &v)) return cli_usage_error("serve", "--queue takes 1..4096");
            p.max_queue = (int)v;
        } else if (!strcmp(a, "--request-timeout")) {
            if (!num(val, 1, 86400, &v)) return cli_usage_error("serve", "--request-timeout takes 1..86400 seconds");
            p.request_timeout_s = (int)v;
        } else if (!strcmp(a, "--timeout")) {
            if (!num(val, 1, 3600, &v)) return cli_usage_error("serve", "--timeout takes 1..3600 seconds");
            p.timeout_s = (int)v;
        } else {
            return cli_usage_error("serve", "unknown option %s", a);
        }
    }
    if (!n) return cli_usage_error("serve", "--model NAME=PATH is required");
    if (p.audit_content && !p.audit_log) return cli_usage_error("serve", "--audit-content goes with --audit-log");
    for (size_t k = 0; require_signed && k < n; k++)
        if (!manifests[k])
            return cli_usage_error("serve", "--require-signed: model '%s' has no --manifest M.json after it", names[k]);
    p.n_models = n;
    p.model_names = names;
    p.model_paths = paths;
    p.chat_templates = tmpl;
    owl_error err = {0};
    /* the licence policy, checked for every model before anything listens */
    for (size_t k = 0; k < n; k++) {
        owl_model *m = NULL;
        if (owl_model_open(paths[k], &m, &err)) return cli_report_error(&err);
        if (require_signed && owl_manifest_verify(m, manifests[k], require_signed, &err)) {
            owl_model_close(m);
            fprintf(stderr, "owl serve: not starting: model '%s' (%s) does not match its signed manifest\n", names[k], paths[k]);
            return cli_report_error(&err);
        }
        int rc = cli_enforce_policy(policy, m, accept_license);
        owl_model_close(m);
        if (rc) {
            fprintf(stderr, "owl serve: not starting: model '%s' (%s) is refused by the licence policy\n", names[k], paths[k]);
            return rc;
        }
    }
    /* SIGINT and SIGTERM are blocked before any server thread starts (threads
       inherit the mask) and taken here by sigwait: with a handler and pause(),
       a busy stream thread could take the signal itself and leave this
       thread waiting for ever */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    owl_server *s = NULL;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "owl serve: loading %zu model%s and hashing the weights for their digests...\n", n, n == 1 ? "" : "s");
    if (owl_server_new(&p, &s, &err)) return cli_report_error(&err);
    fprintf(stderr, "owl serve: listening on http://%s:%d\n", p.host, owl_server_port(s));
    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {}
    fprintf(stderr, "owl serve: signal %d, shutting down\n", sig);
    owl_server_stop(s);
    owl_server_free(s);
    return EXIT_OK;
}
