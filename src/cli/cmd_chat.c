/* cmd_chat.c: `owl chat`: a conversation in the terminal. Each turn renders
 * the whole conversation with the model's chat template and generates the
 * answer with owl_generate, reusing the KV cache for the part of the prompt
 * that did not change. On a terminal: line editing and history, multi-line
 * input, commands, Ctrl-C stops an answer; from a pipe: one turn per line,
 * answers printed plainly. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lineedit.h"
#include "core/atomic_file.h"
#include "core/mapped_file.h"

static const char usage[] =
    "usage: owl chat MODEL [options]\n"
    "\n"
    "A conversation with the model in its own chat format. On a terminal: line editing\n"
    "and history (arrows, Ctrl-A/E/K/U/W), a line ending in \\ continues on the next,\n"
    "\"\"\" starts and ends a multi-line block, Ctrl-C stops an answer, Ctrl-D leaves.\n"
    "From a pipe: each line of standard input is a turn; answers are printed plainly,\n"
    "one per turn, followed by a newline.\n"
    "\n"
    "  --system TEXT        system prompt\n"
    "  --template F         chat template to use instead of the model's own\n"
    "  --var NAME=JSON      a template variable, e.g. --var enable_thinking=false\n"
    "  -n N                 most tokens per answer (default 512)\n"
    "  --temp T, --top-k N, --top-p P, --min-p P, --repeat-penalty R, --seed S\n"
    "                       sampling (defaults: the model's generation_config.json, else\n"
    "                       llama.cpp's); the seed applies to every answer (default 0)\n"
    "  --stop TEXT          also stop an answer at this text (may repeat)\n"
    "  --ctx N              context size (default: min(training context, 4096))\n"
    "  --threads N          worker threads (default: all cores)\n"
    "  --lora A[:S]         apply LoRA adapter A (a PEFT or MLX directory, or a GGUF LoRA)\n"
    "                       unmerged, scaled by S (default 1); may repeat\n"
    "  --verbose            speed of each answer on stderr\n"
    "\n"
    "commands: /reset  /system TEXT  /save FILE  /load FILE  /params [name=value ...]  /help  /exit\n"
    "\n"
    "exit status: 0 ok, 1 the model or template is unusable, 2 bad usage\n";

#define MAX_STOPS 16

static volatile sig_atomic_t g_generating;
static volatile int g_cancel;

static void on_sigint(int sig) {
    (void)sig;
    if (g_generating) g_cancel = 1;
    else _exit(130);
}

typedef struct chat {
    owl_model *m;
    owl_tokenizer *tk;
    owl_engine *e;
    owl_sampler *sm;
    owl_sampler_params sp;
    const char *template_src;
    char *template_owned;
    json_t *vars;
    json_t *messages; /* without the system message */
    char *system;
    int32_t *cache;   /* tokens at positions 0.. of sequence 0 */
    size_t n_cache;
    long n_predict;
    const char *stops[MAX_STOPS];
    size_t n_stops;
    int tty, verbose;
    int64_t n_ctx;
} chat;

static int emit_text(void *ctx, const char *text, size_t len) {
    (void)ctx;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int set_param(chat *c, const char *name, const char *val) {
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end) return 0;
    if (!strcmp(name, "temp") || !strcmp(name, "temperature")) c->sp.temperature = (float)v;
    else if (!strcmp(name, "top_k") || !strcmp(name, "top-k")) c->sp.top_k = (int)v;
    else if (!strcmp(name, "top_p") || !strcmp(name, "top-p")) c->sp.top_p = (float)v;
    else if (!strcmp(name, "min_p") || !strcmp(name, "min-p")) c->sp.min_p = (float)v;
    else if (!strcmp(name, "repeat_penalty") || !strcmp(name, "repeat-penalty")) c->sp.repeat_penalty = (float)v;
    else if (!strcmp(name, "seed")) c->sp.seed = (uint64_t)v;
    else if (!strcmp(name, "n") || !strcmp(name, "n_predict")) c->n_predict = (long)v;
    else return 0;
    return 1;
}

static int rebuild_sampler(chat *c, owl_error *err) {
    owl_sampler_free(c->sm);
    c->sm = NULL;
    return owl_sampler_new(&c->sp, owl_engine_n_vocab(c->e), &c->sm, err) == OWL_OK;
}

static void print_params(const chat *c) {
    printf("temp=%g top_k=%d top_p=%g min_p=%g repeat_penalty=%g seed=%llu n=%ld\n", c->sp.temperature, c->sp.top_k,
           c->sp.top_p, c->sp.min_p, c->sp.repeat_penalty, (unsigned long long)c->sp.seed, c->n_predict);
}

static void reset(chat *c) {
    json_array_clear(c->messages);
    c->n_cache = 0; /* the next turn drops the sequence's cells */
}

static json_t *conversation(const chat *c, const char *user) {
    json_t *all = json_array();
    if (c->system) json_array_append_new(all, json_pack("{s:s, s:s}", "role", "system", "content", c->system));
    json_array_extend(all, c->messages);
    if (user) json_array_append_new(all, json_pack("{s:s, s:s}", "role", "user", "content", user));
    return all;
}

/* One turn: render, tokenize, generate, remember. 0 ok. */
static int turn(chat *c, const char *user, owl_error *err) {
    json_t *conv = conversation(c, user);
    char *mj = json_dumps(conv, JSON_COMPACT);
    char *vars = json_dumps(c->vars, JSON_COMPACT);
    json_decref(conv);
    owl_chat_params cp = {0};
    cp.template_source = c->template_src;
    cp.messages_json = mj;
    cp.extra_json = vars;
    cp.add_generation_prompt = 1;
    char *prompt = NULL;
    size_t plen = 0;
    owl_status st = owl_chat_render(c->m, &cp, &prompt, &plen, err);
    free(mj);
    free(vars);
    if (st) return 1;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    st = owl_tokenize_chat(c->tk, prompt, plen, &ids, &n_ids, err);
    free(prompt);
    if (st) return 1;
    if ((int64_t)n_ids + c->n_predict > c->n_ctx) {
        fprintf(stderr, "owl chat: the conversation is %zu tokens and an answer may take %ld more, but the context holds "
                        "%lld: /reset, lower -n, or raise --ctx\n", n_ids, c->n_predict, (long long)c->n_ctx);
        free(ids);
        return 0;
    }
    owl_sampler_reset(c->sm);
    owl_generate_params gp = owl_generate_default_params();
    gp.n_predict = c->n_predict;
    gp.stops = c->stops;
    gp.n_stops = c->n_stops;
    gp.cached = c->cache;
    gp.n_cached = c->n_cache;
    gp.cancel = &g_cancel;
    owl_generate_result r;
    g_cancel = 0;
    g_generating = 1;
    /* the answer text, collected as it streams */
    st = owl_generate(c->e, c->tk, c->sm, ids, n_ids, &gp, emit_text, NULL, &r, err);
    g_generating = 0;
    if (st) {
        free(ids);
        free(r.tokens);
        return 1;
    }
    char *answer = NULL;
    size_t alen = 0;
    owl_detokenize(c->tk, r.tokens, r.n_tokens, 0, &answer, &alen, NULL);
    if (!strcmp(r.stop_reason, "cancelled")) printf(c->tty ? " [stopped]" : "");
    fputc('\n', stdout);
    fflush(stdout);
    if (c->verbose)
        fprintf(stderr, "[%lld prompt tokens (%lld reused) in %.0f ms; %zu tokens in %.0f ms, %.1f tokens/s; %s]\n",
                (long long)r.n_prompt, (long long)r.n_cached, r.prompt_ms, r.n_tokens, r.gen_ms,
                r.gen_ms > 0 ? 1e3 * (double)r.n_tokens / r.gen_ms : 0.0, r.stop_reason);
    /* remember: the conversation, and what the cache now holds */
    if (user) json_array_append_new(c->messages, json_pack("{s:s, s:s}", "role", "user", "content", user));
    json_array_append_new(c->messages, json_pack("{s:s, s:s%}", "role", "assistant", "content", answer ? answer : "",
                                                 alen));
    free(answer);
    free(c->cache);
    c->cache = malloc((n_ids + r.n_tokens + 1) * sizeof *c->cache);
    if (c->cache) {
        memcpy(c->cache, ids, n_ids * sizeof *ids);
        if (r.n_tokens) memcpy(c->cache + n_ids, r.tokens, r.n_tokens * sizeof *ids); /* NULL when none */
        c->n_cache = n_ids + r.n_tokens;
    } else {
        c->n_cache = 0;
    }
    free(ids);
    free(r.tokens);
    return 0;
}

static void save(const chat *c, const char *path) {
    json_t *doc = json_pack("{s:O, s:O}", "messages", c->messages, "vars", c->vars);
    if (c->system) json_object_set_new(doc, "system", json_string(c->system));
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    owl_error err = {0};
    owl_atomic_file f;
    if (!text || owl_atomic_open(&f, path, &err)) {
        fprintf(stderr, "owl chat: cannot save to %s: %s\n", path, err.message);
        free(text);
        return;
    }
    owl_atomic_write(&f, text, strlen(text));
    owl_atomic_write(&f, "\n", 1);
    if (owl_atomic_commit(&f, &err)) fprintf(stderr, "owl chat: cannot save to %s: %s\n", path, err.message);
    else printf("saved %zu messages to %s\n", json_array_size(c->messages), path);
    free(text);
}

static void load(chat *c, const char *path) {
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    json_t *msgs = json_is_array(doc) ? doc : json_object_get(doc, "messages");
    if (!json_is_array(msgs)) {
        fprintf(stderr, "owl chat: %s: expected a JSON array of messages or {\"messages\": [...]} (%s)\n", path,
                doc ? "no messages" : je.text);
        json_decref(doc);
        return;
    }
    size_t i;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
        if (!json_is_string(json_object_get(msg, "role"))) {
            fprintf(stderr, "owl chat: %s: message %zu has no \"role\"\n", path, i);
            json_decref(doc);
            return;
        }
    }
    reset(c);
    json_t *sys = json_is_object(doc) ? json_object_get(doc, "system") : NULL;
    if (json_is_string(sys)) {
        free(c->system);
        c->system = strdup(json_string_value(sys));
    }
    json_array_foreach(msgs, i, msg) {
        if (!strcmp(json_string_value(json_object_get(msg, "role")), "system") &&
            json_is_string(json_object_get(msg, "content"))) {
            free(c->system);
            c->system = strdup(json_string_value(json_object_get(msg, "content")));
        } else {
            json_array_append(c->messages, msg);
        }
    }
    printf("loaded %zu messages from %s\n", json_array_size(c->messages), path);
    json_decref(doc);
}

/* A command line ("/..."). Returns 1 to leave. */
static int command(chat *c, char *line) {
    char *arg = strchr(line, ' ');
    if (arg) {
        *arg++ = 0;
        while (*arg == ' ') arg++;
    }
    owl_error err = {0};
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) return 1;
    if (!strcmp(line, "/reset")) {
        reset(c);
        printf("conversation cleared\n");
    } else if (!strcmp(line, "/system")) {
        free(c->system);
        c->system = arg && *arg ? strdup(arg) : NULL;
        reset(c);
        printf(c->system ? "system prompt set; conversation cleared\n" : "system prompt removed; conversation cleared\n");
    } else if (!strcmp(line, "/save") && arg && *arg) {
        save(c, arg);
    } else if (!strcmp(line, "/load") && arg && *arg) {
        load(c, arg);
    } else if (!strcmp(line, "/params")) {
        for (char *tok = arg ? strtok(arg, " ") : NULL; tok; tok = strtok(NULL, " ")) {
            char *eq = strchr(tok, '=');
            if (!eq || (*eq = 0, !set_param(c, tok, eq + 1)))
                fprintf(stderr, "owl chat: /params takes name=value with a name among temp, top_k, top_p, min_p, "
                                "repeat_penalty, seed, n (got '%s')\n", tok);
        }
        if (!rebuild_sampler(c, &err)) fprintf(stderr, "owl chat: %s\n", err.message);
        print_params(c);
    } else if (!strcmp(line, "/help")) {
        printf("/reset  clear the conversation\n/system TEXT  set the system prompt (clears)\n/save FILE  write the "
               "conversation as JSON\n/load FILE  read one back\n/params [name=value ...]  show or set sampling\n"
               "/exit  leave (or Ctrl-D)\n");
    } else {
        fprintf(stderr, "owl chat: unknown command %s (try /help)\n", line);
    }
    fflush(stdout);
    return 0;
}

/* The next user turn from the terminal, with continuation lines; NULL at the end. */
static char *read_tty_turn(lineedit *le) {
    char *text = NULL;
    size_t n = 0;
    int block = 0;
    for (;;) {
        char *line = NULL;
        int r = le_read(le, text ? "... " : "> ", &line);
        if (r == LE_EOF) {
            if (text) return text;
            return NULL;
        }
        if (r == LE_INTERRUPT) {
            free(text);
            text = NULL;
            n = 0;
            block = 0;
            continue;
        }
        size_t len = strlen(line);
        int fence = !strcmp(line, "\"\"\"");
        int cont = !block && len && line[len - 1] == '\\';
        if (fence) {
            free(line);
            if (block) return text ? text : strdup("");
            block = 1;
            if (!text) text = calloc(1, 1);
            continue;
        }
        if (cont) line[--len] = 0;
        char *p = realloc(text, n + len + 2);
        if (!p) {
            free(line);
            return text;
        }
        text = p;
        if (n) text[n++] = '\n';
        memcpy(text + n, line, len + 1);
        n += len;
        if (!block) le_history_add(le, line);
        free(line);
        if (!block && !cont) return text;
    }
}

static char *read_pipe_turn(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, stdin);
    if (len < 0) {
        free(line);
        return NULL;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    return line;
}

int cmd_chat(int argc, char **argv) {
    chat c;
    memset(&c, 0, sizeof c);
    c.n_predict = 512;
    c.vars = json_object();
    c.messages = json_array();
    const char *model = NULL, *template_file = NULL;
    long threads = 0, ctx = 0;
    int rc = EXIT_OTHER;
    owl_error err = {0};
    cli_loras loras = {0};
    const char *sampling[][2] = {{"--temp", "temp"}, {"--top-k", "top_k"}, {"--top-p", "top_p"}, {"--min-p", "min_p"},
                                 {"--repeat-penalty", "repeat_penalty"}, {"--seed", "seed"}, {"-n", "n"}};
    const char *sampling_set[7] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc, matched = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = EXIT_OK;
            goto done;
        }
        for (int k = 0; k < 7 && has; k++)
            if (!strcmp(a, sampling[k][0])) {
                sampling_set[k] = argv[++i];
                matched = 1;
                break;
            }
        if (matched) continue;
        if (!strcmp(a, "--system") && has) c.system = strdup(argv[++i]);
        else if (!strcmp(a, "--template") && has) template_file = argv[++i];
        else if (!strcmp(a, "--stop") && has) {
            if (c.n_stops == MAX_STOPS) {
                rc = cli_usage_error("chat", "at most %d --stop strings", MAX_STOPS);
                goto done;
            }
            c.stops[c.n_stops++] = argv[++i];
        } else if (!strcmp(a, "--var") && has) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            json_t *val = eq ? json_loads(eq + 1, JSON_DECODE_ANY, NULL) : NULL;
            if (!val || eq == v) {
                json_decref(val);
                rc = cli_usage_error("chat", "--var wants NAME=JSON (quote strings: NAME='\"text\"'), got '%s'", v);
                goto done;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
            json_object_set_new(c.vars, name, val);
        } else if (!strcmp(a, "--ctx") && has) ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--threads") && has) threads = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--lora") && has) {
            int r = cli_lora_arg(&loras, "chat", argv[++i]);
            if (r) {
                rc = r;
                goto done;
            }
        }
        else if (!strcmp(a, "--verbose")) c.verbose = 1;
        else if (a[0] == '-') {
            rc = cli_usage_error("chat", "unknown option '%s'", a);
            goto done;
        } else if (!model) model = a;
        else {
            rc = cli_usage_error("chat", "one model only");
            goto done;
        }
    }
    if (!model) {
        rc = cli_usage_error("chat", "give a MODEL");
        goto done;
    }
    if (owl_model_open(model, &c.m, &err) || owl_tokenizer_new(c.m, &c.tk, &err)) goto fail;
    if (template_file) {
        size_t len;
        if (owl_read_small_file(template_file, 4u << 20, &c.template_owned, &len, &err)) goto fail;
        c.template_src = c.template_owned;
    } else if (!owl_model_get_info(c.m)->chat_template) {
        fprintf(stderr, "owl chat: %s has no chat template: give one with --template FILE.jinja\n", model);
        rc = EXIT_INPUT;
        goto done;
    }
    c.sp = owl_sampler_default_params();
    owl_sampler_model_defaults(c.m, &c.sp);
    for (int k = 0; k < 7; k++)
        if (sampling_set[k] && !set_param(&c, sampling[k][1], sampling_set[k])) {
            rc = cli_usage_error("chat", "%s needs a number, got '%s'", sampling[k][0], sampling_set[k]);
            goto done;
        }
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = (int)threads;
    int64_t train = owl_model_get_info(c.m)->hp.n_ctx_train;
    ep.n_ctx = ctx > 0 ? ctx : train > 0 && train < 4096 ? train : 4096;
    c.n_ctx = ep.n_ctx;
    if (owl_engine_new(c.m, &ep, &c.e, &err) || cli_lora_apply(&loras, c.e, &err) || !rebuild_sampler(&c, &err)) goto fail;
    c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    lineedit le = {0};
    if (c.tty) printf("owl chat with %s (/help for commands, Ctrl-D to leave)\n", model);
    rc = EXIT_OK;
    for (;;) {
        char *line = c.tty ? read_tty_turn(&le) : read_pipe_turn();
        if (!line) break;
        if (!*line) {
            free(line);
            continue;
        }
        if (line[0] == '/') {
            int leave = command(&c, line);
            free(line);
            if (leave) break;
            continue;
        }
        int bad = turn(&c, line, &err);
        free(line);
        if (bad) {
            rc = cli_report_error(&err);
            if (!c.tty) break; /* a pipe cannot fix it; a person can /reset or change settings */
            rc = EXIT_OK;
        }
    }
    le_free(&le);
    goto done;
fail:
    rc = cli_report_error(&err);
done:
    free(c.cache);
    free(c.system);
    free(c.template_owned);
    json_decref(c.vars);
    json_decref(c.messages);
    owl_sampler_free(c.sm);
    owl_engine_free(c.e);
    cli_lora_free(&loras);
    owl_tokenizer_free(c.tk);
    owl_model_close(c.m);
    return rc;
}
