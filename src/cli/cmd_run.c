/* cmd_run.c: `owl run`: a prompt in, its continuation streamed out as it is
 * generated: tokenize, decode the prompt in batches, then sample, stream
 * through the stop-string matcher, decode, until a stop. Every step is a
 * library call (engine, sampler, detokenizer stream, stop matcher). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/mapped_file.h"

static const char usage[] =
    "usage: owl run MODEL (-p TEXT | -f FILE) [options]\n"
    "\n"
    "Generates a continuation of the prompt and streams it to stdout.\n"
    "\n"
    "  -p, --prompt TEXT      the prompt (special-token text such as <s> is parsed)\n"
    "  -f, --file F           read the prompt from file F\n"
    "  --chat                 the prompt is a user message: render it with the model's chat\n"
    "                         template (and the assistant's turn opened) before generating\n"
    "  --system TEXT          with --chat: a system message first\n"
    "  --template F           with --chat: this chat template instead of the model's own\n"
    "  -n, --n-predict N      tokens to generate at most (default 256)\n"
    "  --temp T               temperature; 0 is greedy (default 0.8, or the model's\n"
    "                         generation_config.json)\n"
    "  --top-k N, --top-p P, --min-p P, --typical-p P\n"
    "                         (defaults 40, 0.95, 0.05, 1: off; or generation_config.json)\n"
    "  --repeat-penalty R, --frequency-penalty F, --presence-penalty P, --repeat-last-n N\n"
    "                         penalties over the last N tokens (defaults 1, 0, 0, 64)\n"
    "  --seed S               random seed (default: a new one each run; --verbose shows it)\n"
    "  --stop TEXT            stop before this text (may repeat); the stop text is not printed\n"
    "  --json-schema F        the output must be JSON matching the JSON Schema in file F\n"
    "                         (generation ends when the value is complete)\n"
    "  --grammar F            the output must match the GBNF grammar in file F (llama.cpp's\n"
    "                         dialect, start rule root); ends when nothing more can follow\n"
    "  --regex R              the whole output must match the regex R (literals, ., classes,\n"
    "                         \\d \\w \\s, groups, |, * + ? {m,n}); one of the three constraints\n"
    "  --logit-bias ID=B      add B to token ID's logit (may repeat; B may be -inf to ban it)\n"
    "  --ignore-eos           do not stop at the end-of-generation token\n"
    "  --no-bos               do not add the model's BOS token\n"
    "  --ctx N                context size (default: min(training context, 4096));\n"
    "                         a prompt plus -n that does not fit is an error, never cut\n"
    "  --threads N            worker threads (default: all cores)\n"
    "  --kv f16|f32|q8_0      KV cache type (default f16)\n"
    "  --lora A[:S]           apply LoRA adapter A (a PEFT or MLX directory, or a GGUF LoRA)\n"
    "                         unmerged, scaled by S (default 1); may repeat\n"
    "  --json                 print one JSON object at the end instead of streaming:\n"
    "                         {text, tokens, stop_reason, n_prompt, timings, seed}\n"
    "  --logprobs N           with --json: each token's log-probability and the N (0..20)\n"
    "                         most likely alternatives, from the model's own distribution\n"
    "  --verbose              prompt and generation speed (tokens/s) on stderr\n"
    "  --policy F             enforce an organisation's licence policy file (default $OWL_POLICY)\n"
    "  --require-signed P     refuse the model unless it matches --manifest M.json signed by public key P\n"
    "  --manifest M.json      the model's manifest (owl manifest, owl sign)\n"
    "  --audit-log F          append one hash-chained JSON line per request to F (time, model\n"
    "                         manifest digest, token counts and digests; see owl audit verify)\n"
    "  --audit-content        with --audit-log: also record the prompt and output text\n"
    "  --accept-license       record acceptance of the model's licence terms, as a policy may require\n"
    "\n"
    "exit status: 0 ok, 1 the model is malformed or unsupported or the prompt does not fit, 2 bad usage, 3 I/O error\n";

#define MAX_STOP_ARGS 16
#define MAX_BIAS_ARGS 64

static void sha256_hex(const void *p, size_t n, char out[65]) {
    unsigned char md[32];
    unsigned int k = 0;
    EVP_Digest(p, n, md, &k, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static owl_status owl_fail_nomem(owl_error *err) {
    err->status = OWL_ERR_NOMEM;
    snprintf(err->message, sizeof err->message, "audit: out of memory");
    return OWL_ERR_NOMEM;
}

/* The digest of the model that answers: of its manifest file when given
 * (cheap), else of the manifest built now (hashes every file once). */
static owl_status model_digest_of(const owl_model *m, const char *model, const char *manifest, char out[65], owl_error *err) {
    if (manifest) return owl_sha256_file(manifest, out, NULL, NULL, err);
    char *text = NULL;
    owl_status st = owl_manifest_build(m, model, &text, err);
    if (st) return st;
    sha256_hex(text, strlen(text), out);
    free(text);
    return OWL_OK;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi)) return 0;
    *out = v;
    return 1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
    char *p = malloc(cap);
    while (p && (got = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2 && n < (64u << 20)) {
            char *q = realloc(p, cap *= 2);
            if (!q) { free(p); p = NULL; }
            else p = q;
        }
    }
    fclose(f);
    if (p) p[n] = '\0';
    *len = n;
    return p;
}

/* --chat: the prompt as the user's message (after an optional system message),
   rendered through the chat template with the assistant's turn opened. */
static int chat_prompt(const owl_model *m, const char *model, const char *user, const char *system,
                       const char *template_file, char **out, owl_error *err) {
    char *tmpl = NULL;
    size_t tl = 0;
    if (template_file) {
        if (owl_read_small_file(template_file, 4u << 20, &tmpl, &tl, err)) return 1;
    } else if (!owl_model_get_info(m)->chat_template) {
        fprintf(stderr, "owl run: %s has no chat template: give one with --template FILE.jinja, or drop --chat\n", model);
        return 1;
    }
    json_t *msgs = json_array();
    if (system) json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", user));
    char *mj = json_dumps(msgs, JSON_COMPACT);
    json_decref(msgs);
    owl_chat_params cp = {0};
    cp.template_source = tmpl;
    cp.messages_json = mj;
    cp.add_generation_prompt = 1;
    size_t len = 0;
    owl_status st = mj ? owl_chat_render(m, &cp, out, &len, err) : OWL_ERR_NOMEM;
    free(mj);
    free(tmpl);
    return st != OWL_OK;
}

int cmd_run(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL, *kv = "f16", *schema_file = NULL, *grammar_file = NULL, *regex_src = NULL;
    const char *system = NULL, *template_file = NULL;
    int chat = 0;
    const char *stops[MAX_STOP_ARGS];
    owl_logit_bias biases[MAX_BIAS_ARGS];
    int n_biases = 0;
    size_t n_stops = 0;
    double n_predict = 256, threads = 0, ctx = 0, n_logprobs = -1;
    int json = 0, verbose = 0, ignore_eos = 0, no_bos = 0, have_seed = 0;
    int accept_license = 0;
    const char *policy = NULL, *require_signed = NULL, *manifest = NULL, *audit_log = NULL;
    int audit_content = 0;
    char model_digest[65] = "";
    cli_loras loras = {0};
    /* sampler options are collected first and applied over the model's defaults */
    struct { const char *flag; double lo, hi; int set; double v; } opt[] = {
        {"--temp", 0, 100, 0, 0},           {"--top-k", 0, 1 << 24, 0, 0},     {"--top-p", 1e-9, 1, 0, 0},
        {"--min-p", 0, 0.999999, 0, 0},     {"--typical-p", 1e-9, 1, 0, 0},    {"--repeat-penalty", 1e-9, 10, 0, 0},
        {"--frequency-penalty", -10, 10, 0, 0}, {"--presence-penalty", -10, 10, 0, 0}, {"--repeat-last-n", 0, 65536, 0, 0},
        {"--seed", 0, 1.8e19, 0, 0},
    };
    const size_t n_opt = sizeof opt / sizeof opt[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        int has = i + 1 < argc, matched = 0;
        for (size_t k = 0; k < n_opt && !matched; k++)
            if (!strcmp(a, opt[k].flag)) {
                if (!has || !num(argv[++i], opt[k].lo, opt[k].hi, &opt[k].v))
                    return cli_usage_error("run", "%s takes a number from %g to %g", a, opt[k].lo, opt[k].hi);
                opt[k].set = matched = 1;
            }
        if (matched) continue;
        if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && has) prompt = argv[++i];
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && has) file = argv[++i];
        else if ((!strcmp(a, "-n") || !strcmp(a, "--n-predict")) && has) {
            if (!num(argv[++i], 0, 1 << 24, &n_predict)) return cli_usage_error("run", "-n takes a count of tokens");
        } else if (!strcmp(a, "--stop") && has) {
            if (n_stops == MAX_STOP_ARGS) return cli_usage_error("run", "at most %d --stop strings", MAX_STOP_ARGS);
            stops[n_stops++] = argv[++i];
        } else if (!strcmp(a, "--threads") && has) {
            if (!num(argv[++i], 0, 1024, &threads)) return cli_usage_error("run", "--threads takes 0..1024");
        } else if (!strcmp(a, "--ctx") && has) {
            if (!num(argv[++i], 1, 1 << 22, &ctx)) return cli_usage_error("run", "--ctx takes a number of tokens");
        } else if (!strcmp(a, "--logprobs") && has) {
            if (!num(argv[++i], 0, 20, &n_logprobs)) return cli_usage_error("run", "--logprobs takes 0..20");
        } else if (!strcmp(a, "--logit-bias") && has) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            char *end;
            errno = 0;
            long id = strtol(v, &end, 10);
            if (n_biases == MAX_BIAS_ARGS || !eq || end != eq || id < 0 || id > INT32_MAX || errno)
                return cli_usage_error("run", "--logit-bias takes ID=BIAS, e.g. 13=-inf or 278=2.5 (at most %d)", MAX_BIAS_ARGS);
            float b = !strcmp(eq + 1, "-inf") ? -INFINITY : strtof(eq + 1, &end);
            if (!strcmp(eq + 1, "-inf")) end = (char *)eq + 5;
            if (*end || isnan(b)) return cli_usage_error("run", "--logit-bias %s: the bias is not a number", v);
            biases[n_biases++] = (owl_logit_bias){(int32_t)id, b};
        } else if (!strcmp(a, "--json-schema") && has) schema_file = argv[++i];
        else if (!strcmp(a, "--grammar") && has) grammar_file = argv[++i];
        else if (!strcmp(a, "--regex") && has) regex_src = argv[++i];
        else if (!strcmp(a, "--kv") && has) kv = argv[++i];
        else if (!strcmp(a, "--lora") && has) {
            int r = cli_lora_arg(&loras, "run", argv[++i]);
            if (r) return r;
        } else if (!strcmp(a, "--chat")) chat = 1;
        else if (!strcmp(a, "--system") && has) system = argv[++i];
        else if (!strcmp(a, "--template") && has) template_file = argv[++i];
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--verbose")) verbose = 1;
        else if (!strcmp(a, "--policy") && has) policy = argv[++i];
        else if (!strcmp(a, "--accept-license")) accept_license = 1;
        else if (!strcmp(a, "--require-signed") && has) require_signed = argv[++i];
        else if (!strcmp(a, "--manifest") && has) manifest = argv[++i];
        else if (!strcmp(a, "--audit-log") && has) audit_log = argv[++i];
        else if (!strcmp(a, "--audit-content")) audit_content = 1;
        else if (!strcmp(a, "--ignore-eos")) ignore_eos = 1;
        else if (!strcmp(a, "--no-bos")) no_bos = 1;
        else if (a[0] == '-') return cli_usage_error("run", "unknown option or missing value: %s", a);
        else if (!model) model = a;
        else return cli_usage_error("run", "one model only (got %s and %s)", model, a);
    }
    if (!model) return cli_usage_error("run", "no model given");
    if (require_signed && !manifest) return cli_usage_error("run", "--require-signed P needs --manifest M.json");
    if (manifest && !require_signed && !audit_log) return cli_usage_error("run", "--manifest goes with --require-signed or --audit-log");
    if (audit_content && !audit_log) return cli_usage_error("run", "--audit-content goes with --audit-log");
    if (!prompt == !file) return cli_usage_error("run", "give the prompt with -p TEXT or -f FILE (one of them)");
    if (strcmp(kv, "f16") && strcmp(kv, "f32") && strcmp(kv, "q8_0")) return cli_usage_error("run", "--kv is f16, f32 or q8_0");
    if (n_logprobs >= 0 && !json) return cli_usage_error("run", "--logprobs goes with --json");
    if ((system || template_file) && !chat) return cli_usage_error("run", "--system and --template go with --chat");
    if (!!schema_file + !!grammar_file + !!regex_src > 1)
        return cli_usage_error("run", "--json-schema, --grammar and --regex exclude one another (give one)");

    owl_error err = {0};
    owl_model *m = NULL;
    owl_tokenizer *tk = NULL;
    owl_engine *e = NULL;
    owl_sampler *sm = NULL;
    owl_stop *stop = NULL;
    owl_detok_stream *ds = NULL;
    owl_json_schema *schema = NULL;
    owl_token_trie *trie = NULL;
    owl_grammar *grammar = NULL;
    owl_token_mask *mask = NULL;
    float *masked = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0, text_len = 0;
    char *file_text = NULL, *text = NULL, *rendered = NULL;
    json_t *gen = json_array(), *lps = json_array();
    int rc = EXIT_OK;
    if (file && !(file_text = read_file(file, &text_len))) {
        fprintf(stderr, "owl: %s: %s\n", file, strerror(errno));
        rc = EXIT_OTHER;
        goto done;
    }
    if (!prompt) prompt = file_text;
    if (owl_model_open(model, &m, &err)) goto fail;
    if (require_signed && owl_manifest_verify(m, manifest, require_signed, &err)) goto fail;
    if ((rc = cli_enforce_policy(policy, m, accept_license))) goto done;
    if (audit_log && model_digest_of(m, model, manifest, model_digest, &err)) goto fail;
    if (owl_tokenizer_new(m, &tk, &err)) goto fail;
    owl_sampler_params sp = owl_sampler_default_params();
    owl_sampler_model_defaults(m, &sp);
    for (size_t k = 0; k < n_opt; k++) {
        if (!opt[k].set) continue;
        double v = opt[k].v;
        switch (k) {
        case 0: sp.temperature = (float)v; break;
        case 1: sp.top_k = (int)v; break;
        case 2: sp.top_p = (float)v; break;
        case 3: sp.min_p = (float)v; break;
        case 4: sp.typical_p = (float)v; break;
        case 5: sp.repeat_penalty = (float)v; break;
        case 6: sp.frequency_penalty = (float)v; break;
        case 7: sp.presence_penalty = (float)v; break;
        case 8: sp.penalty_last_n = (int)v; break;
        default: sp.seed = (uint64_t)v; have_seed = 1; break;
        }
    }
    sp.n_logit_bias = n_biases;
    sp.logit_bias = biases;
    if (!have_seed) { /* a fresh seed, shown so the run can be repeated */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sp.seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec;
    }
    if (chat) {
        if (chat_prompt(m, model, prompt, system, template_file, &rendered, &err)) {
            rc = err.status ? cli_report_error(&err) : EXIT_INPUT;
            goto done;
        }
        if (owl_tokenize_chat(tk, rendered, strlen(rendered), &ids, &n_ids, &err)) goto fail;
    } else {
        unsigned flags = OWL_TOKENIZE_PARSE_SPECIAL | (no_bos ? 0 : OWL_TOKENIZE_ADD_SPECIAL);
        if (owl_tokenize(tk, prompt, strlen(prompt), flags, &ids, &n_ids, &err)) goto fail;
    }
    if (!n_ids) {
        fprintf(stderr, "owl run: the prompt is empty after tokenizing (and the model adds no BOS): give some text\n");
        rc = EXIT_USAGE;
        goto done;
    }
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = (int)threads;
    ep.kv_type = !strcmp(kv, "f32") ? OWL_KV_F32 : !strcmp(kv, "q8_0") ? OWL_KV_Q8_0 : OWL_KV_F16;
    int64_t train = owl_model_get_info(m)->hp.n_ctx_train;
    ep.n_ctx = ctx ? (int64_t)ctx : train > 0 && train < 4096 ? train : 4096;
    if ((int64_t)n_ids + (int64_t)n_predict > ep.n_ctx) {
        fprintf(stderr, "owl run: the prompt is %zu tokens and -n asks for %.0f more, but the context holds %lld: "
                        "lower -n, shorten the prompt, or raise --ctx (the model was trained for %lld)\n",
                n_ids, n_predict, (long long)ep.n_ctx, (long long)train);
        rc = EXIT_INPUT;
        goto done;
    }
    if (owl_engine_new(m, &ep, &e, &err) || cli_lora_apply(&loras, e, &err) ||
        owl_sampler_new(&sp, owl_engine_n_vocab(e), &sm, &err) ||
        owl_stop_new(stops, n_stops, &stop, &err))
        goto fail;
    if (schema_file) {
        size_t sl = 0;
        char *st = read_file(schema_file, &sl);
        if (!st) {
            fprintf(stderr, "owl: %s: %s\n", schema_file, strerror(errno));
            rc = EXIT_OTHER;
            goto done;
        }
        owl_status s2 = owl_json_schema_compile(st, &schema, &err);
        free(st);
        if (s2) goto fail;
    }
    if (grammar_file || regex_src) {
        size_t gl = 0;
        char *gs = grammar_file ? read_file(grammar_file, &gl) : NULL;
        if (grammar_file && !gs) {
            fprintf(stderr, "owl: %s: %s\n", grammar_file, strerror(errno));
            rc = EXIT_OTHER;
            goto done;
        }
        owl_status s2 = grammar_file ? owl_grammar_compile_gbnf(gs, gl, &grammar, &err)
                                     : owl_grammar_compile_regex(regex_src, strlen(regex_src), &grammar, &err);
        free(gs);
        if (s2 && grammar_file) { /* name the file the line:column is in */
            char msg[sizeof err.message];
            snprintf(msg, sizeof msg, "%.200s: %.800s", grammar_file, err.message);
            memcpy(err.message, msg, sizeof msg);
        }
        if (s2) goto fail;
    }
    if (schema || grammar) { /* one mask over the vocabulary trie, whichever the constraint */
        int64_t V = owl_engine_n_vocab(e);
        if (owl_token_trie_new(tk, V, &trie, &err) || owl_token_mask_new(schema, grammar, tk, trie, V, &mask, &err))
            goto fail;
        if (!(masked = malloc((size_t)V * sizeof *masked))) {
            rc = EXIT_OTHER;
            goto done;
        }
    }
    if (!(ds = owl_detok_stream_new(tk, 0))) {
        rc = EXIT_OTHER;
        goto done;
    }
    /* the prompt, in batches */
    double t0 = now();
    int64_t batch = ep.n_batch ? ep.n_batch : (ep.n_ctx < 512 ? ep.n_ctx : 512);
    int64_t last_row = 0; /* the row whose logits pick the next token */
    for (size_t at = 0; at < n_ids; at += (size_t)batch) {
        int64_t k = (int64_t)(n_ids - at) < batch ? (int64_t)(n_ids - at) : batch;
        owl_batch b = {.n_tokens = k, .tokens = ids + at};
        if (owl_engine_decode(e, &b, &err)) goto fail;
        last_row = k - 1;
    }
    for (size_t i = 0; i < n_ids; i++) owl_sampler_accept(sm, ids[i]);
    double t1 = now();
    const char *reason = "length";
    size_t out_cap = 256, out_len = 0;
    text = malloc(out_cap);
    long n_gen = 0;
    for (; n_gen < (long)n_predict; n_gen++) {
        const float *logits = owl_engine_logits(e, last_row);
        const float *choose = logits;
        if (mask) { /* only the tokens that keep the output inside the schema or grammar */
            int64_t V = owl_engine_n_vocab(e);
            memcpy(masked, logits, (size_t)V * sizeof *masked);
            if (owl_token_mask_apply(mask, masked, V)) {
                fprintf(stderr, "owl run: no token continues the %s here (the vocabulary cannot spell what it needs)\n",
                        schema ? "JSON" : "grammar");
                rc = EXIT_INPUT;
                goto done;
            }
            choose = masked;
        }
        int32_t tok = owl_sampler_sample(sm, choose);
        if (mask) owl_token_mask_accept(mask, tok);
        last_row = 0;
        if (n_logprobs >= 0) {
            owl_token_logprob top[20];
            float lp;
            owl_logprobs(logits, owl_engine_n_vocab(e), tok, (int)n_logprobs, top, &lp);
            json_t *alts = json_array();
            for (int k = 0; k < (int)n_logprobs; k++)
                json_array_append_new(alts, json_pack("{s:i, s:f}", "id", top[k].id, "logprob", (double)top[k].logprob));
            json_array_append_new(lps, json_pack("{s:i, s:f, s:o}", "id", tok, "logprob", (double)lp, "top", alts));
        }
        if (!ignore_eos && owl_token_is_eog(tk, tok)) {
            reason = "eos";
            break;
        }
        owl_sampler_accept(sm, tok);
        json_array_append_new(gen, json_integer(tok));
        char *piece = NULL;
        size_t plen = 0;
        if (owl_detok_stream_push(ds, tok, &piece, &plen, &err)) goto fail;
        const char *emit;
        size_t n_emit;
        int stopped = owl_stop_push(stop, piece, plen, &emit, &n_emit);
        free(piece);
        if (stopped < 0) {
            rc = EXIT_OTHER;
            goto done;
        }
        if (n_emit) {
            if (!json) {
                fwrite(emit, 1, n_emit, stdout);
                fflush(stdout);
            }
            while (out_len + n_emit + 1 > out_cap) text = realloc(text, out_cap *= 2);
            memcpy(text + out_len, emit, n_emit);
            out_len += n_emit;
        }
        if (stopped) {
            reason = "stop";
            n_gen++;
            break;
        }
        if (n_gen + 1 == (long)n_predict) {
            n_gen++;
            break;
        }
        owl_batch b = {.n_tokens = 1, .tokens = &tok};
        if (owl_engine_decode(e, &b, &err)) goto fail;
    }
    if (strcmp(reason, "stop")) { /* what the matcher and the UTF-8 stream still hold */
        char *tail = NULL;
        size_t tl = 0;
        const char *emit;
        size_t n_emit;
        if (!owl_detok_stream_flush(ds, &tail, &tl, &err) && tl) owl_stop_push(stop, tail, tl, &emit, &n_emit);
        free(tail);
        owl_stop_flush(stop, &emit, &n_emit);
        if (n_emit) {
            if (!json) fwrite(emit, 1, n_emit, stdout);
            while (out_len + n_emit + 1 > out_cap) text = realloc(text, out_cap *= 2);
            memcpy(text + out_len, emit, n_emit);
            out_len += n_emit;
        }
    }
    double t2 = now();
    if (json) {
        json_t *o = json_pack("{s:s%, s:O, s:s, s:I, s:{s:f, s:f}, s:I}", "text", text, out_len, "tokens", gen, "stop_reason",
                              reason, "n_prompt", (json_int_t)n_ids, "timings", "prompt_ms", (t1 - t0) * 1e3, "generation_ms",
                              (t2 - t1) * 1e3, "seed", (json_int_t)(sp.seed & 0x7fffffffffffffffull));
        if (o && n_logprobs >= 0) json_object_set(o, "logprobs", lps);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        putchar('\n');
    }
    fflush(stdout);
    if (audit_log) {
        char ph[65], oh[65], when[32];
        sha256_hex(prompt, strlen(prompt), ph);
        sha256_hex(text ? text : "", out_len, oh);
        time_t tnow = time(NULL);
        struct tm tmv;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tnow, &tmv));
        json_t *ev = json_pack("{s:s, s:s, s:s, s:n, s:I, s:I, s:s, s:s, s:I, s:f, s:s, s:s}", "time", when, "verb", "run",
                               "model_manifest_sha256", model_digest, "adapter", "n_prompt", (json_int_t)n_ids, "n_output",
                               (json_int_t)n_gen, "prompt_sha256", ph, "output_sha256", oh, "seed",
                               (json_int_t)(sp.seed & 0x7fffffffffffffffull), "temperature", (double)sp.temperature,
                               "stop_reason", reason, "status", "ok");
        if (ev && audit_content) {
            json_object_set_new(ev, "prompt", json_string(prompt));
            json_object_set_new(ev, "output", json_stringn(text ? text : "", out_len));
        }
        char *evs = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        json_decref(ev);
        owl_status ast = evs ? owl_audit_append(audit_log, evs, &err) : owl_fail_nomem(&err);
        free(evs);
        if (ast) goto fail;
    }
    if (verbose)
        fprintf(stderr, "owl run: seed %llu; prompt %zu tokens in %.1f ms (%.1f tokens/s); generated %ld tokens in %.1f ms "
                        "(%.1f tokens/s), stopped by %s\n",
                (unsigned long long)sp.seed, n_ids, (t1 - t0) * 1e3, (double)n_ids / (t1 - t0), n_gen, (t2 - t1) * 1e3,
                n_gen / (t2 - t1 > 0 ? t2 - t1 : 1e-9), reason);
    goto done;
fail:
    rc = cli_report_error(&err);
done:
    json_decref(gen);
    json_decref(lps);
    free(text);
    free(ids);
    free(file_text);
    free(rendered);
    owl_detok_stream_free(ds);
    owl_token_mask_free(mask);
    owl_json_schema_free(schema);
    owl_grammar_free(grammar);
    owl_token_trie_free(trie);
    free(masked);
    owl_stop_free(stop);
    owl_sampler_free(sm);
    owl_engine_free(e);
    cli_lora_free(&loras);
    owl_tokenizer_free(tk);
    owl_model_close(m);
    return rc;
}
