/* server.c: owl serve's HTTP side on libmicrohttpd: routes (/health, /v1/models,
 * /tokenize, /detokenize, /v1/chat/completions, /v1/completions), API-key auth
 * compared in constant time, body cap, timeouts, OpenAI-shaped errors, and the
 * audit trail: one hash-chained line per request, on disk before its response. */
#define _POSIX_C_SOURCE 200809L
#include "owl.h"
#include "core/error.h"
#include "core/utf8.h"
#include "serve/page.h"
#include "serve/serve.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KEYS 64
#define MAX_STOPS 4
#define MAX_BIAS 300

typedef struct serve_model {
    char name[128];
    owl_model *model;
    owl_tokenizer *tok;
    owl_engine *eng;
    char *template_src;
    char digest[72];          /* "sha256:" + the manifest's tensor_data_sha256 */
    char template_digest[72]; /* "sha256:" of the chat template text; "" when none */
    owl_token_trie *trie; /* built on the first constrained request */
    pthread_mutex_t lock; /* one generation at a time per engine */
} serve_model;

/* Prometheus histogram buckets, in seconds. */
static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])
typedef struct histogram {
    uint64_t count[N_BUCKETS + 1];
    double sum;
    uint64_t n;
} histogram;

typedef struct metrics {
    pthread_mutex_t lock;
    uint64_t requests[6]; /* 2xx 4xx(other) 401 404 413 429, and 5xx folded into [1] */
    uint64_t prompt_tokens, gen_tokens;
    histogram ttft, per_token;
    int queued, active;
    int workers; /* stream threads still running (shutdown waits for them) */
} metrics;

static void observe(histogram *h, double x) {
    size_t i = 0;
    while (i < N_BUCKETS && x > BUCKETS[i]) i++;
    h->count[i]++;
    h->sum += x;
    h->n++;
}

struct owl_server {
    owl_server_params p;
    metrics met;
    serve_model *models;
    size_t n_models;
    char *key_id[MAX_KEYS], *key[MAX_KEYS];
    size_t n_keys;
    struct MHD_Daemon *d;
    volatile int stop;
    owl_audit_log *audit;   /* NULL without --audit-log */
    char boot[12];          /* request ids start with it, so they stay unique across restarts */
    _Atomic unsigned long n_requests;
};

typedef struct conn_state {
    char *body;
    size_t len;
    int too_big;
    char id[40];           /* request id: X-Request-Id, the completion's id, the audit line's request_id */
    struct timespec t0;    /* arrival (monotonic), for the duration */
    json_t *ev;            /* the audit event being filled in */
    int audit_pending;     /* the line is still to be written (the stream's job may take it over) */
    const serve_model *m;  /* the model the request named, once known: its digest goes out as a header */
} conn_state;

static char *read_file(const char *path, size_t cap, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) { owl_fail(err, OWL_ERR_IO, "%s: cannot open", path); return NULL; }
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf) { owl_fail(err, OWL_ERR_NOMEM, "out of memory"); return NULL; }
    if (n > cap) { free(buf); owl_fail(err, OWL_ERR_INPUT, "%s: larger than %zu bytes", path, cap); return NULL; }
    buf[n] = 0;
    return buf;
}

static owl_status load_keys(owl_server *s, const char *path, owl_error *err) {
    char *text = read_file(path, 1 << 20, err);
    if (!text) return err ? err->status : OWL_ERR_IO;
    char *save = NULL;
    int line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t n = strlen(l);
        while (n && (l[n - 1] == '\r' || l[n - 1] == ' ')) l[--n] = 0;
        if (!n || l[0] == '#') continue;
        char *colon = strchr(l, ':');
        if (!colon || colon == l || !colon[1] || strlen(colon + 1) < 16) {
            free(text);
            return owl_fail(err, OWL_ERR_INPUT, "%s line %d: expected ID:KEY with a key of 16+ characters", path, line);
        }
        if (s->n_keys == MAX_KEYS) { free(text); return owl_fail(err, OWL_ERR_INPUT, "%s: more than %d keys", path, MAX_KEYS); }
        *colon = 0;
        s->key_id[s->n_keys] = strdup(l);
        s->key[s->n_keys] = strdup(colon + 1);
        s->n_keys++;
    }
    free(text);
    if (!s->n_keys) return owl_fail(err, OWL_ERR_INPUT, "%s: no keys", path);
    return OWL_OK;
}

/* The id of the key presented, or NULL. Every key is compared, in constant time. */
static const char *auth_check(const owl_server *s, const char *hdr) {
    if (!hdr || strncmp(hdr, "Bearer ", 7)) return NULL;
    const char *k = hdr + 7;
    size_t kl = strlen(k);
    const char *found = NULL;
    for (size_t i = 0; i < s->n_keys; i++) {
        size_t l = strlen(s->key[i]);
        if (l == kl && CRYPTO_memcmp(s->key[i], k, l) == 0) found = s->key_id[i];
    }
    return found;
}

/* The server and request this connection thread is answering (one thread per connection),
   so that every response is counted and audited without threading them through each reply. */
static _Thread_local owl_server *tl_server;
static _Thread_local conn_state *tl_req;

/* ---- the audit trail: an event per request, filled in as the request is
 * understood, written (fdatasync'd) before the response is queued. */
static void sha256_tag(const char *p, size_t n, char out[72]) {
    unsigned char md[32];
    unsigned int k = 0;
    if (EVP_Digest(p, n, md, &k, EVP_sha256(), NULL) != 1) { out[0] = 0; return; }
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* A string for the log from bytes a client chose: cut to cap at a character
 * boundary (*cut set), and with any byte of invalid UTF-8 shown as '?'. */
static json_t *audit_str(const char *p, size_t n, size_t cap, int *cut) {
    if (n > cap) {
        n = cap;
        while (n && ((unsigned char)p[n] & 0xc0) == 0x80) n--;
        if (cut) *cut = 1;
    }
    if (owl_utf8_valid(p, n)) return json_stringn(p, n);
    char *q = malloc(n + 1);
    if (!q) return NULL;
    for (size_t i = 0; i < n; i++) q[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
    json_t *v = json_stringn(q, n);
    free(q);
    return v;
}

static void audit_set(conn_state *cs, const char *key, json_t *v) {
    if (cs && cs->ev) json_object_set_new(cs->ev, key, v);
    else json_decref(v);
}

static void audit_begin(conn_state *cs, const char *method, const char *url) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tmv;
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tmv));
    snprintf(when + n, sizeof when - n, ".%03ldZ", now.tv_nsec / 1000000);
    cs->audit_pending = 1;
    cs->ev = json_pack("{s:s,s:s,s:s,s:o,s:o,s:n,s:n,s:n,s:n,s:n}", "verb", "serve", "time", when, "request_id", cs->id,
                       "method", audit_str(method, strlen(method), 16, NULL), "route", audit_str(url, strlen(url), 512, NULL),
                       "key_id", "model", "model_digest", "adapter_digest", "template_digest");
}

/* The model the request named (known or not): its name, and the digests of one that is served. */
static void audit_model(conn_state *cs, json_t *name, const serve_model *m) {
    if (json_is_string(name)) audit_set(cs, "model", audit_str(json_string_value(name), json_string_length(name), 256, NULL));
    if (!m) return;
    cs->m = m;
    audit_set(cs, "model_digest", json_string(m->digest));
}

/* Sets status and duration and appends the line; on failure says why on stderr. */
static owl_status audit_write(owl_server *s, json_t *ev, unsigned code, const struct timespec *t0, const char *id) {
    owl_error err = {0};
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = 1e3 * (double)(t1.tv_sec - t0->tv_sec) + 1e-6 * (double)(t1.tv_nsec - t0->tv_nsec);
    char *line = NULL;
    if (ev) {
        json_object_set_new(ev, "status", json_integer(code));
        json_object_set_new(ev, "duration_ms", json_real(floor(ms * 1e3) / 1e3)); /* to the microsecond */
        line = json_dumps(ev, JSON_COMPACT);
    }
    owl_status st = line ? owl_audit_write(s->audit, line, NULL, &err) : owl_fail(&err, OWL_ERR_NOMEM, "audit event: out of memory");
    free(line);
    if (st) fprintf(stderr, "owl serve: request %s refused: the audit log cannot be written: %s\n", id, err.message);
    return st;
}

/* The request's line, before its response is queued. Nonzero: it could not be
   written, and the request must fail rather than go unrecorded. */
static int audit_finish(owl_server *s, conn_state *cs, unsigned code) {
    if (!s || !s->audit || !cs->audit_pending) return 0;
    cs->audit_pending = 0;
    return audit_write(s, cs->ev, code, &cs->t0, cs->id) != OWL_OK;
}

static void count_response(unsigned code) {
    owl_server *s = tl_server;
    if (!s) return;
    int k = code < 300 ? 0 : code == 401 ? 2 : code == 404 ? 3 : code == 413 ? 4 : code == 429 ? 5 : 1;
    pthread_mutex_lock(&s->met.lock);
    s->met.requests[k]++;
    pthread_mutex_unlock(&s->met.lock);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *type, const char *param,
                                  const char *fmt, ...) OWL_PRINTF(5, 6);

static void add_request_headers(struct MHD_Response *r, const conn_state *cs) {
    if (!cs) return;
    MHD_add_response_header(r, "X-Request-Id", cs->id);
    if (cs->m) MHD_add_response_header(r, "X-Owl-Model-Digest", cs->m->digest);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *type, char *body, size_t len) {
    conn_state *cs = tl_req;
    if (cs && audit_finish(tl_server, cs, code)) {
        free(body);
        return send_error(c, 500, "server_error", NULL, "the audit log cannot be written: the request is refused");
    }
    count_response(code);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", type);
    add_request_headers(r, cs);
    if (code == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (code == 429) MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) return MHD_NO;
    return send_text(c, code, "application/json", s, strlen(s));
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *type, const char *param,
                                  const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* a message quoting the client (a URL, a model name) may hold invalid UTF-8, or be cut inside a character */
    if (!owl_utf8_valid(msg, strlen(msg)))
        for (char *q = msg; *q; q++) if ((unsigned char)*q >= 0x80) *q = '?';
    json_t *e = json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", msg, "type", type, "param",
                          param ? json_string(param) : json_null(), "code", json_null());
    return send_json(c, code, e);
}

static serve_model *find_model(owl_server *s, const char *name) {
    for (size_t i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name)) return &s->models[i];
    return NULL;
}

/* ---- request validation: every field's type checked; unknown fields tolerated as OpenAI does ---- */
typedef struct gen_req {
    serve_model *m;
    int64_t max_tokens;
    double temperature, top_p, presence, frequency;
    uint64_t seed;
    int has_seed, stream;
    const char *stops[MAX_STOPS];
    size_t n_stops;
    owl_json_schema *schema; /* response_format json_object / json_schema */
    owl_logit_bias bias[MAX_BIAS];
    int n_bias;
} gen_req;

static const char *validate_common(owl_server *s, json_t *req, gen_req *g, const char **param) {
    json_t *v;
    g->max_tokens = 16; g->temperature = 1.0; g->top_p = 1.0;
    if (!json_is_object(req)) return "the body must be a JSON object";
    v = json_object_get(req, "model");
    *param = "model";
    if (!json_is_string(v)) return "model must be a string";
    g->m = find_model(s, json_string_value(v));
    const char *keys[] = {"max_tokens", "max_completion_tokens"};
    for (int k = 0; k < 2; k++) {
        if (!(v = json_object_get(req, keys[k])) || json_is_null(v)) continue;
        *param = keys[k];
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20)
            return "must be an integer from 0 to 1048576";
        g->max_tokens = json_integer_value(v);
    }
    struct { const char *k; double *dst, lo, hi; } nums[] = {
        {"temperature", &g->temperature, 0, 2}, {"top_p", &g->top_p, 0, 1},
        {"presence_penalty", &g->presence, -2, 2}, {"frequency_penalty", &g->frequency, -2, 2}};
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        if (!(v = json_object_get(req, nums[k].k)) || json_is_null(v)) continue;
        *param = nums[k].k;
        if (!json_is_number(v)) return "must be a number";
        double x = json_number_value(v);
        if (!(x >= nums[k].lo && x <= nums[k].hi)) return "is out of range";
        *nums[k].dst = x;
    }
    if ((v = json_object_get(req, "seed")) && !json_is_null(v)) {
        *param = "seed";
        if (!json_is_integer(v)) return "seed must be an integer";
        g->seed = (uint64_t)json_integer_value(v);
        g->has_seed = 1;
    }
    if ((v = json_object_get(req, "stream")) && !json_is_null(v)) {
        *param = "stream";
        if (!json_is_boolean(v)) return "stream must be a boolean";
        g->stream = json_is_true(v);
    }
    if ((v = json_object_get(req, "n")) && !json_is_null(v)) {
        *param = "n";
        if (!json_is_integer(v) || json_integer_value(v) != 1) return "n must be 1 (for now)";
    }
    if ((v = json_object_get(req, "stop")) && !json_is_null(v)) {
        *param = "stop";
        if (json_is_string(v)) {
            g->stops[g->n_stops++] = json_string_value(v);
        } else if (json_is_array(v) && json_array_size(v) <= MAX_STOPS) {
            size_t i; json_t *x;
            json_array_foreach(v, i, x) {
                if (!json_is_string(x) || !json_string_length(x)) return "stop must be a string or up to 4 non-empty strings";
                g->stops[g->n_stops++] = json_string_value(x);
            }
        } else {
            return "stop must be a string or up to 4 strings";
        }
    }
    if ((v = json_object_get(req, "logit_bias")) && !json_is_null(v)) {
        *param = "logit_bias";
        if (!json_is_object(v) || json_object_size(v) > MAX_BIAS) return "logit_bias must be an object of at most 300 token ids";
        const char *k; json_t *x;
        json_object_foreach(v, k, x) {
            char *end;
            long id = strtol(k, &end, 10);
            if (!*k || *end || id < 0 || id > INT32_MAX || !json_is_number(x) || json_number_value(x) < -100 ||
                json_number_value(x) > 100)
                return "logit_bias maps token ids to numbers from -100 to 100";
            g->bias[g->n_bias].token = (int32_t)id;
            g->bias[g->n_bias].bias = json_number_value(x) <= -100 ? -INFINITY : (float)json_number_value(x);
            g->n_bias++;
        }
    }
    if ((v = json_object_get(req, "response_format")) && !json_is_null(v)) {
        *param = "response_format";
        json_t *t = json_object_get(v, "type");
        if (!json_is_object(v) || !json_is_string(t)) return "response_format must be an object with a string type";
        const char *ty = json_string_value(t);
        char *schema = NULL;
        if (!strcmp(ty, "json_schema")) {
            json_t *js = json_object_get(v, "json_schema"), *sc = json_object_get(js, "schema");
            if (!json_is_object(js) || !json_is_object(sc)) return "response_format.json_schema.schema must be an object";
            schema = json_dumps(sc, JSON_COMPACT);
        } else if (!strcmp(ty, "json_object")) {
            schema = strdup("{\"type\":\"object\"}");
        } else if (strcmp(ty, "text")) {
            return "response_format.type must be text, json_object or json_schema";
        }
        if (schema) {
            owl_status st = owl_json_schema_compile(schema, &g->schema, NULL);
            free(schema);
            if (st) return "the schema cannot be compiled (unsupported or malformed)";
        }
    }
    *param = NULL;
    return NULL;
}

int serve_validate_request(const char *body, size_t len, char *msg, size_t cap) {
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) { snprintf(msg, cap, "malformed JSON: %s", je.text); return 0; }
    owl_server none;
    memset(&none, 0, sizeof none);
    gen_req g;
    memset(&g, 0, sizeof g);
    const char *param = NULL;
    const char *bad = validate_common(&none, req, &g, &param);
    owl_json_schema_free(g.schema);
    json_decref(req);
    if (bad) snprintf(msg, cap, "%s: %s", param ? param : "body", bad);
    return bad == NULL;
}

typedef struct text_buf { char *p; size_t n, cap; } text_buf;

static int on_text(void *ctx, const char *t, size_t n) {
    text_buf *b = ctx;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) return 1;
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, t, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* The per-request deadline: text callbacks past it end the generation ("length" is not claimed). */
typedef struct deadline_text {
    owl_text_fn fn;
    void *ctx;
    struct timespec end;
    int expired;
} deadline_text;

static int deadline_fn(void *ctx, const char *t, size_t n) {
    deadline_text *d = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > d->end.tv_sec || (now.tv_sec == d->end.tv_sec && now.tv_nsec > d->end.tv_nsec)) {
        d->expired = 1;
        return 1;
    }
    return d->fn(d->ctx, t, n);
}

static owl_status generate(owl_server *s, gen_req *g, const int32_t *ids, size_t n_ids, owl_text_fn fn_,
                           void *out_, volatile int *cancel, owl_generate_result *r, owl_error *err) {
    deadline_text dl = {fn_, out_, {0, 0}, 0};
    clock_gettime(CLOCK_MONOTONIC, &dl.end);
    dl.end.tv_sec += s->p.request_timeout_s;
    owl_text_fn fn = deadline_fn;
    void *out = &dl;
    serve_model *m = g->m;
    owl_sampler_params sp = owl_sampler_default_params();
    sp.temperature = (float)g->temperature;
    sp.top_p = (float)g->top_p;
    sp.presence_penalty = (float)g->presence;
    sp.frequency_penalty = (float)g->frequency;
    sp.seed = g->has_seed ? g->seed : (uint64_t)time(NULL);
    sp.logit_bias = g->bias;
    sp.n_logit_bias = g->n_bias;
    int64_t V = owl_engine_n_vocab(m->eng);
    for (int i = 0; i < g->n_bias; i++)
        if (g->bias[i].token >= V) return owl_fail(err, OWL_ERR_INPUT, "logit_bias: token %d is past the vocabulary (%lld)", (int)g->bias[i].token, (long long)V);
    owl_sampler *sm = NULL;
    owl_status st = owl_sampler_new(&sp, owl_engine_n_vocab(m->eng), &sm, err);
    if (st) return st;
    owl_generate_params gp = owl_generate_default_params();
    gp.n_predict = g->max_tokens;
    gp.stops = g->stops;
    gp.n_stops = g->n_stops;
    gp.cancel = cancel;
    owl_token_mask *mask = NULL; /* response_format: tokens that would leave the schema are masked */
    pthread_mutex_lock(&s->met.lock);
    int full = s->met.queued >= s->p.max_queue;
    if (!full) s->met.queued++;
    pthread_mutex_unlock(&s->met.lock);
    if (full) {
        owl_sampler_free(sm);
        return owl_fail(err, OWL_ERR_NOMEM, "the queue is full (%d requests waiting); retry later", s->p.max_queue);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    pthread_mutex_lock(&s->met.lock);
    s->met.queued--;
    s->met.active++;
    pthread_mutex_unlock(&s->met.lock);
    if (g->schema) {
        if (!m->trie) st = owl_token_trie_new(m->tok, V, &m->trie, err);
        if (!st) st = owl_token_mask_new(g->schema, NULL, m->tok, m->trie, V, &mask, err);
        gp.filter = owl_token_mask_apply;
        gp.on_token = owl_token_mask_accept;
        gp.filter_ctx = mask;
    }
    owl_engine_seq_drop(m->eng, 0, 0, -1, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!st) st = owl_generate(m->eng, m->tok, sm, ids, n_ids, &gp, fn, out, r, err);
    pthread_mutex_unlock(&m->lock);
    if (!st && dl.expired) r->stop_reason = "deadline";
    double wait_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    pthread_mutex_lock(&s->met.lock);
    s->met.active--;
    if (!st) {
        s->met.prompt_tokens += (uint64_t)r->n_prompt;
        s->met.gen_tokens += r->n_tokens;
        double per = r->n_tokens ? r->gen_ms / 1e3 / (double)r->n_tokens : 0;
        observe(&s->met.ttft, wait_s + r->prompt_ms / 1e3 + per);
        for (size_t i = 0; i < r->n_tokens; i++) observe(&s->met.per_token, per);
    }
    pthread_mutex_unlock(&s->met.lock);
    owl_token_mask_free(mask);
    owl_sampler_free(sm);
    return st;
}

static const char *finish_reason(const char *stop) {
    return !strcmp(stop, "length") ? "length" : "stop";
}

static enum MHD_Result route_generate_valid(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req,
                                           int chat, gen_req *gr);

/* Prompt or answer text for the log (--audit-content), cut at 1 MiB so a line stays under the log's cap. */
#define AUDIT_TEXT_CAP (1u << 20)
static void audit_content_text(json_t *ev, const char *key, const char *p, size_t n) {
    int cut = 0;
    json_object_set_new(ev, key, audit_str(p, n, AUDIT_TEXT_CAP, &cut));
    if (cut) json_object_set_new(ev, "content_truncated", json_true());
}

/* ---- streaming: a worker thread generates, the connection thread sends each
 * chunk as it comes; a client that goes away cancels its generation at once. */
typedef struct stream_job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    text_buf pending;   /* SSE bytes not yet sent */
    size_t sent;        /* of pending, already handed to MHD */
    int done, refs, include_usage, chat;
    volatile int cancel;
    owl_server *s;
    gen_req g;
    char *stops[MAX_STOPS];
    int32_t *ids;
    size_t n_ids;
    char id[64];
    long long created;
    json_t *ev;            /* the request's audit event, written when the stream ends; NULL: none */
    struct timespec t0;
    char req_id[40];
    text_buf answer;       /* the text, kept for the audit log under --audit-content */
} stream_job;

static void job_release(stream_job *j) {
    pthread_mutex_lock(&j->lock);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last) return;
    for (size_t i = 0; i < j->g.n_stops; i++) free(j->stops[i]);
    owl_json_schema_free(j->g.schema);
    free(j->ids);
    free(j->pending.p);
    free(j->answer.p);
    json_decref(j->ev);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    free(j);
}

static void job_event(stream_job *j, json_t *choices, json_t *usage) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", j->id, "object",
                          j->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)j->created,
                          "model", j->g.m->name, "choices", choices);
    if (usage) json_object_set_new(o, "usage", usage);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    pthread_mutex_lock(&j->lock);
    if (t) { on_text(&j->pending, "data: ", 6); on_text(&j->pending, t, strlen(t)); on_text(&j->pending, "\n\n", 2); }
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    free(t);
}

static int job_text(void *ctx, const char *t, size_t n) {
    stream_job *j = ctx;
    if (j->ev && j->s->p.audit_content) on_text(&j->answer, t, n);
    json_t *choice = j->chat ? json_pack("{s:i,s:{s:s%},s:o}", "index", 0, "delta", "content", t, n, "finish_reason", json_null())
                             : json_pack("{s:i,s:s%,s:o}", "index", 0, "text", t, n, "finish_reason", json_null());
    job_event(j, json_pack("[o]", choice), NULL);
    return j->cancel || j->s->stop;
}

static void *job_run(void *arg) {
    stream_job *j = arg;
    owl_error err = {0};
    owl_generate_result r = {0};
    if (j->chat)
        job_event(j, json_pack("[{s:i,s:{s:s,s:s},s:o}]", "index", 0, "delta", "role", "assistant", "content", "",
                               "finish_reason", json_null()), NULL);
    owl_status st = generate(j->s, &j->g, j->ids, j->n_ids, job_text, j, &j->cancel, &r, &err);
    if (st) {
        json_t *e = json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", err.message, "type",
                              st == OWL_ERR_NOMEM ? "rate_limit_error" : "invalid_request_error", "param", json_null(), "code", json_null());
        char *t = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        pthread_mutex_lock(&j->lock);
        if (t) { on_text(&j->pending, "data: ", 6); on_text(&j->pending, t, strlen(t)); on_text(&j->pending, "\n\n", 2); }
        pthread_mutex_unlock(&j->lock);
        free(t);
    } else {
        const char *fr = finish_reason(r.stop_reason);
        job_event(j, j->chat ? json_pack("[{s:i,s:{},s:s}]", "index", 0, "delta", "finish_reason", fr)
                             : json_pack("[{s:i,s:s,s:s}]", "index", 0, "text", "", "finish_reason", fr), NULL);
        if (j->include_usage)
            job_event(j, json_array(), json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)r.n_prompt, "completion_tokens",
                                                 (json_int_t)r.n_tokens, "total_tokens", (json_int_t)(r.n_prompt + (int64_t)r.n_tokens)));
    }
    free(r.tokens);
    int audit_failed = 0;
    if (j->ev) { /* on disk before the stream's end goes out */
        json_object_set_new(j->ev, "completion_tokens", st ? json_null() : json_integer((json_int_t)r.n_tokens));
        json_object_set_new(j->ev, "finish_reason", st ? json_null() : json_string(r.stop_reason));
        if (st) json_object_set_new(j->ev, "error", json_string(err.message));
        if (j->s->p.audit_content) audit_content_text(j->ev, "completion", j->answer.p ? j->answer.p : "", j->answer.n);
        audit_failed = audit_write(j->s, j->ev, 200, &j->t0, j->req_id) != OWL_OK;
    }
    pthread_mutex_lock(&j->lock);
    if (audit_failed) { /* the status line is gone already: end with an error and no [DONE] */
        const char *e = "data: {\"error\":{\"message\":\"the audit log cannot be written: the request is refused\","
                        "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
        on_text(&j->pending, e, strlen(e));
    } else {
        on_text(&j->pending, "data: [DONE]\n\n", 14);
    }
    j->done = 1;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    owl_server *s = j->s;
    job_release(j);
    pthread_mutex_lock(&s->met.lock);
    s->met.workers--;
    pthread_mutex_unlock(&s->met.lock);
    return NULL;
}

static ssize_t job_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_job *j = cls;
    pthread_mutex_lock(&j->lock);
    while (j->sent == j->pending.n && !j->done) pthread_cond_wait(&j->cond, &j->lock);
    size_t n = j->pending.n - j->sent;
    if (n > max) n = max;
    memcpy(buf, j->pending.p + j->sent, n);
    j->sent += n;
    if (j->sent == j->pending.n) j->sent = j->pending.n = 0;
    pthread_mutex_unlock(&j->lock);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void job_gone(void *cls) { /* the response is done or the client went away */
    stream_job *j = cls;
    j->cancel = 1;
    job_release(j);
}

static enum MHD_Result start_stream(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int chat,
                                    gen_req *gr, int32_t *ids, size_t n_ids) {
    pthread_mutex_lock(&s->met.lock);
    int full = s->met.queued >= s->p.max_queue;
    pthread_mutex_unlock(&s->met.lock);
    if (full) { free(ids); return send_error(c, 429, "rate_limit_error", NULL, "the queue is full; retry later"); }
    stream_job *j = calloc(1, sizeof *j);
    if (!j) { free(ids); return MHD_NO; }
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    j->s = s;
    j->g = *gr;
    gr->schema = NULL; /* the job owns it now */
    for (size_t i = 0; i < j->g.n_stops; i++) j->g.stops[i] = j->stops[i] = strdup(j->g.stops[i]);
    j->ids = ids;
    j->n_ids = n_ids;
    j->chat = chat;
    json_t *so = json_object_get(req, "stream_options");
    j->include_usage = json_is_object(so) && json_is_true(json_object_get(so, "include_usage"));
    j->created = (long long)time(NULL);
    snprintf(j->id, sizeof j->id, "%s-%s", chat ? "chatcmpl" : "cmpl", cs->id);
    if (cs->audit_pending) { /* the job writes the line when the stream ends */
        j->ev = cs->ev;
        cs->ev = NULL;
        cs->audit_pending = 0;
        j->t0 = cs->t0;
        memcpy(j->req_id, cs->id, sizeof j->req_id);
    }
    j->refs = 2;
    pthread_t th;
    pthread_mutex_lock(&s->met.lock);
    s->met.workers++;
    pthread_mutex_unlock(&s->met.lock);
    if (pthread_create(&th, NULL, job_run, j)) {
        pthread_mutex_lock(&s->met.lock);
        s->met.workers--;
        pthread_mutex_unlock(&s->met.lock);
        j->refs = 1;
        job_release(j);
        return MHD_NO;
    }
    pthread_detach(th);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, job_read, j, job_gone);
    if (!r) { j->cancel = 1; job_release(j); return MHD_NO; }
    count_response(200);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    add_request_headers(r, cs);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}
static enum MHD_Result route_generate(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int chat) {
    gen_req g = {0};
    const char *param = NULL;
    const char *bad = validate_common(s, req, &g, &param);
    audit_model(cs, json_object_get(req, "model"), g.m);
    if (bad) {
        owl_json_schema_free(g.schema);
        return send_error(c, 400, "invalid_request_error", param, "%s%s%s", param ? param : "", param ? ": " : "", bad);
    }
    enum MHD_Result res = route_generate_valid(s, c, cs, req, chat, &g);
    owl_json_schema_free(g.schema);
    return res;
}

static enum MHD_Result route_generate_valid(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req,
                                           int chat, gen_req *gr) {
    if (!gr->m) return send_error(c, 404, "invalid_request_error", "model", "The model '%s' does not exist",
                                  json_string_value(json_object_get(req, "model")));
    if (!gr->has_seed) gr->seed = (uint64_t)time(NULL), gr->has_seed = 1; /* chosen here so that the log can say which */
    gen_req g = *gr;
    audit_set(cs, "stream", json_boolean(g.stream));
    audit_set(cs, "sampler", json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:i,s:i,s:b}", "temperature", g.temperature, "top_p",
                                       g.top_p, "presence_penalty", g.presence, "frequency_penalty", g.frequency,
                                       "max_tokens", (json_int_t)g.max_tokens, "seed", (json_int_t)g.seed, "stop",
                                       (int)g.n_stops, "logit_bias", g.n_bias, "json_schema", g.schema != NULL));
    owl_error err = {0};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    owl_status st;
    if (chat) {
        json_t *msgs = json_object_get(req, "messages");
        if (!json_is_array(msgs) || !json_array_size(msgs))
            return send_error(c, 400, "invalid_request_error", "messages", "messages must be a non-empty array");
        size_t i; json_t *mm;
        json_array_foreach(msgs, i, mm) {
            json_t *role = json_object_get(mm, "role"), *content = json_object_get(mm, "content");
            if (!json_is_object(mm) || !json_is_string(role) || !(json_is_string(content) || json_is_null(content)))
                return send_error(c, 400, "invalid_request_error", "messages",
                                  "messages[%zu] must be an object with a string role and string content", i);
        }
        char *mj = json_dumps(msgs, JSON_COMPACT);
        if (g.m->template_digest[0]) audit_set(cs, "template_digest", json_string(g.m->template_digest));
        if (s->p.audit_content && cs->ev && mj) {
            if (strlen(mj) <= AUDIT_TEXT_CAP) json_object_set(cs->ev, "messages", msgs);
            else audit_content_text(cs->ev, "messages", mj, strlen(mj));
        }
        owl_chat_params cp = {0};
        cp.template_source = g.m->template_src;
        cp.messages_json = mj;
        cp.add_generation_prompt = 1;
        char *text = NULL;
        size_t tl = 0;
        st = mj ? owl_chat_render(g.m->model, &cp, &text, &tl, &err) : OWL_ERR_NOMEM;
        free(mj);
        if (!st) st = owl_tokenize_chat(g.m->tok, text, tl, &ids, &n_ids, &err);
        free(text);
    } else {
        json_t *p = json_object_get(req, "prompt");
        if (!json_is_string(p)) return send_error(c, 400, "invalid_request_error", "prompt", "prompt must be a string");
        if (s->p.audit_content && cs->ev) audit_content_text(cs->ev, "prompt", json_string_value(p), json_string_length(p));
        st = owl_tokenize(g.m->tok, json_string_value(p), json_string_length(p),
                          OWL_TOKENIZE_ADD_SPECIAL | OWL_TOKENIZE_PARSE_SPECIAL, &ids, &n_ids, &err);
    }
    if (st) { free(ids); return send_error(c, 400, "invalid_request_error", NULL, "%s", err.message); }
    audit_set(cs, "prompt_tokens", json_integer((json_int_t)n_ids));
    text_buf out = {0};
    owl_generate_result r = {0};
    if (g.stream) return start_stream(s, c, cs, req, chat, gr, ids, n_ids);
    st = generate(s, &g, ids, n_ids, on_text, &out, &s->stop, &r, &err);
    free(ids);
    if (!st) {
        audit_set(cs, "completion_tokens", json_integer((json_int_t)r.n_tokens));
        audit_set(cs, "finish_reason", json_string(r.stop_reason));
        if (s->p.audit_content && cs->ev) audit_content_text(cs->ev, "completion", out.p ? out.p : "", out.n);
    }
    if (st == OWL_ERR_NOMEM && strstr(err.message, "queue is full")) {
        free(out.p); free(r.tokens);
        return send_error(c, 429, "rate_limit_error", NULL, "%s", err.message);
    }
    if (st) { free(out.p); free(r.tokens); return send_error(c, 400, "invalid_request_error", NULL, "%s", err.message); }
    const char *text = out.p ? out.p : "";
    const char *fr = finish_reason(r.stop_reason);
    char id[64];
    snprintf(id, sizeof id, "%s-%s", chat ? "chatcmpl" : "cmpl", cs->id);
    json_t *usage = json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)r.n_prompt, "completion_tokens",
                              (json_int_t)r.n_tokens, "total_tokens", (json_int_t)(r.n_prompt + (int64_t)r.n_tokens));
    json_t *base = json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object",
                             chat ? "chat.completion" : "text_completion",
                             "created", (json_int_t)time(NULL), "model", g.m->name);
    (void)req;
    free(r.tokens);
    json_t *choice = chat ? json_pack("{s:i,s:{s:s,s:s},s:o,s:s}", "index", 0, "message", "role", "assistant",
                                      "content", text, "logprobs", json_null(), "finish_reason", fr)
                          : json_pack("{s:i,s:s,s:o,s:s}", "index", 0, "text", text, "logprobs", json_null(),
                                      "finish_reason", fr);
    free(out.p);
    json_object_set_new(base, "choices", json_pack("[o]", choice));
    json_object_set_new(base, "usage", usage);
    return send_json(c, 200, base);
}

static enum MHD_Result route_tokenize(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int detok) {
    json_t *mn = json_object_get(req, "model");
    if (!json_is_object(req) || !json_is_string(mn))
        return send_error(c, 400, "invalid_request_error", "model", "model must be a string");
    serve_model *m = find_model(s, json_string_value(mn));
    audit_model(cs, mn, m);
    if (!m) return send_error(c, 404, "invalid_request_error", "model", "The model '%s' does not exist", json_string_value(mn));
    owl_error err = {0};
    if (!detok) {
        json_t *t = json_object_get(req, "content");
        if (!json_is_string(t)) return send_error(c, 400, "invalid_request_error", "content", "content must be a string");
        int32_t *ids = NULL;
        size_t n = 0;
        if (owl_tokenize(m->tok, json_string_value(t), json_string_length(t), OWL_TOKENIZE_PARSE_SPECIAL, &ids, &n, &err)) {
            free(ids);
            return send_error(c, 400, "invalid_request_error", "content", "%s", err.message);
        }
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
        free(ids);
        return send_json(c, 200, json_pack("{s:o}", "tokens", a));
    }
    json_t *a = json_object_get(req, "tokens");
    if (!json_is_array(a) || json_array_size(a) > (1u << 20))
        return send_error(c, 400, "invalid_request_error", "tokens", "tokens must be an array of integers");
    size_t n = json_array_size(a);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return MHD_NO;
    int64_t nv = owl_engine_n_vocab(m->eng);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= nv) {
            free(ids);
            return send_error(c, 400, "invalid_request_error", "tokens", "tokens[%zu] must be an id from 0 to %lld", i, (long long)nv - 1);
        }
        ids[i] = (int32_t)json_integer_value(x);
    }
    char *text = NULL;
    size_t tl = 0;
    owl_status st = owl_detokenize(m->tok, ids, n, 0, &text, &tl, &err);
    free(ids);
    if (st) return send_error(c, 400, "invalid_request_error", "tokens", "%s", err.message);
    json_t *o = json_pack("{s:s%}", "content", text, tl);
    free(text);
    return send_json(c, 200, o);
}

static void put_hist(text_buf *b, const char *name, const char *help, const histogram *h) {
    char line[256];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    on_text(b, line, strlen(line));
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        cum += h->count[i];
        if (i < N_BUCKETS) snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[i], (unsigned long long)cum);
        else snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
        on_text(b, line, strlen(line));
    }
    snprintf(line, sizeof line, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->n);
    on_text(b, line, strlen(line));
}

static enum MHD_Result send_metrics(owl_server *s, struct MHD_Connection *c) {
    text_buf b = {0};
    char line[512];
    static const char *codes[] = {"2xx", "4xx", "401", "404", "413", "429"};
    pthread_mutex_lock(&s->met.lock);
    metrics m = s->met;
    pthread_mutex_unlock(&s->met.lock);
    const char *head = "# HELP owl_requests_total HTTP responses by status\n# TYPE owl_requests_total counter\n";
    on_text(&b, head, strlen(head));
    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof line, "owl_requests_total{code=\"%s\"} %llu\n", codes[i], (unsigned long long)m.requests[i]);
        on_text(&b, line, strlen(line));
    }
    snprintf(line, sizeof line,
             "# HELP owl_prompt_tokens_total Prompt tokens processed\n# TYPE owl_prompt_tokens_total counter\n"
             "owl_prompt_tokens_total %llu\n"
             "# HELP owl_generated_tokens_total Tokens generated\n# TYPE owl_generated_tokens_total counter\n"
             "owl_generated_tokens_total %llu\n"
             "# HELP owl_queue_depth Requests waiting for the engine\n# TYPE owl_queue_depth gauge\nowl_queue_depth %d\n"
             "# HELP owl_batch_size Sequences decoding now\n# TYPE owl_batch_size gauge\nowl_batch_size %d\n",
             (unsigned long long)m.prompt_tokens, (unsigned long long)m.gen_tokens, m.queued, m.active);
    on_text(&b, line, strlen(line));
    put_hist(&b, "owl_time_to_first_token_seconds", "Queue wait + prompt + first token", &m.ttft);
    put_hist(&b, "owl_time_per_output_token_seconds", "Latency per generated token", &m.per_token);
    return send_text(c, 200, "text/plain; version=0.0.4", b.p, b.n);
}

static enum MHD_Result route(owl_server *s, struct MHD_Connection *c, const char *url, const char *method,
                             conn_state *cs) {
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (get && !strcmp(url, "/health")) return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
    if (s->n_keys) {
        const char *id = auth_check(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
        if (!id) return send_error(c, 401, "invalid_request_error", NULL, "Incorrect or missing API key");
        fprintf(stderr, "owl serve: %s %s key=%s\n", method, url, id);
        audit_set(cs, "key_id", audit_str(id, strlen(id), 256, NULL));
    }
    if (get && !strcmp(url, "/v1/models")) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_models; i++) {
            const serve_model *m = &s->models[i];
            json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:s,s:{s:s,s:o}}", "id", m->name, "object", "model",
                                               "created", 0, "owned_by", "owl", "owl", "digest", m->digest,
                                               "chat_template_digest",
                                               m->template_digest[0] ? json_string(m->template_digest) : json_null()));
        }
        return send_json(c, 200, json_pack("{s:s,s:o}", "object", "list", "data", a));
    }
    if (get && !strcmp(url, "/metrics")) return send_metrics(s, c);
    if (get && !strcmp(url, "/")) {
        char *page = strdup(owl_serve_page);
        return page ? send_text(c, 200, "text/html; charset=utf-8", page, strlen(page)) : MHD_NO;
    }
    int known = !strcmp(url, "/v1/chat/completions") || !strcmp(url, "/v1/completions") ||
                !strcmp(url, "/tokenize") || !strcmp(url, "/detokenize");
    if (!known) return send_error(c, 404, "invalid_request_error", NULL, "no route %s %s", method, url);
    if (!post) return send_error(c, 405, "invalid_request_error", NULL, "%s takes POST", url);
    if (cs->too_big) return send_error(c, 413, "invalid_request_error", NULL, "body larger than %zu bytes", s->p.max_body);
    json_error_t je;
    json_t *req = json_loadb(cs->body ? cs->body : "", cs->len, JSON_REJECT_DUPLICATES, &je);
    if (!req) return send_error(c, 400, "invalid_request_error", NULL, "malformed JSON at byte %d: %s", je.position, je.text);
    enum MHD_Result r;
    if (!strcmp(url, "/v1/chat/completions")) r = route_generate(s, c, cs, req, 1);
    else if (!strcmp(url, "/v1/completions")) r = route_generate(s, c, cs, req, 0);
    else r = route_tokenize(s, c, cs, req, !strcmp(url, "/detokenize"));
    json_decref(req);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    owl_server *s = cls;
    tl_server = s;
    conn_state *cs = *con_cls;
    tl_req = cs;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        *con_cls = cs;
        tl_req = cs;
        clock_gettime(CLOCK_MONOTONIC, &cs->t0);
        snprintf(cs->id, sizeof cs->id, "%s-%lu", s->boot, ++s->n_requests);
        /* every request is audited but liveness probes, which would drown the log */
        if (s->audit && !(!strcmp(method, "GET") && !strcmp(url, "/health"))) audit_begin(cs, method, url);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->p.max_body) {
            cs->too_big = 1;
            return send_error(c, 413, "invalid_request_error", NULL, "body larger than %zu bytes", s->p.max_body);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cs->too_big && cs->len + *upload_size <= s->p.max_body) {
            char *p = realloc(cs->body, cs->len + *upload_size + 1);
            if (!p) return MHD_NO;
            memcpy(p + cs->len, upload, *upload_size);
            cs->body = p;
            cs->len += *upload_size;
        } else {
            cs->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(s, c, url, method, cs);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    conn_state *cs = *con_cls;
    if (cs && tl_req == cs) tl_req = NULL;
    if (cs && cs->audit_pending) { /* no response was queued (the client left, a timeout, no memory): still a request */
        char why[96];
        snprintf(why, sizeof why, "no response: the connection ended (libmicrohttpd termination code %d)", (int)t);
        if (cs->ev) json_object_set_new(cs->ev, "error", json_string(why));
        audit_write(cls, cs->ev, 0, &cs->t0, cs->id);
    }
    if (cs) { json_decref(cs->ev); free(cs->body); free(cs); }
    *con_cls = NULL;
}

static int is_loopback(const char *host) {
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strncmp(host, "127.", 4);
}

owl_server_params owl_server_default_params(void) {
    owl_server_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8080;
    p.max_body = 1 << 20;
    p.timeout_s = 10;
    p.max_connections = 64;
    p.max_queue = 64;
    p.request_timeout_s = 300;
    return p;
}

owl_status owl_server_new(const owl_server_params *p, owl_server **out, owl_error *err) {
    *out = NULL;
    if (!p->n_models) return owl_fail(err, OWL_ERR_USAGE, "at least one model is needed");
    owl_server *s = calloc(1, sizeof *s);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    s->p = *p;
    if (s->p.max_queue <= 0) s->p.max_queue = 64;
    if (s->p.request_timeout_s <= 0) s->p.request_timeout_s = 300;
    pthread_mutex_init(&s->met.lock, NULL);
    owl_status st = OWL_OK;
    unsigned char nonce[4];
    if (RAND_bytes(nonce, sizeof nonce) != 1) memcpy(nonce, &(uint32_t){(uint32_t)time(NULL)}, 4);
    snprintf(s->boot, sizeof s->boot, "%02x%02x%02x%02x", nonce[0], nonce[1], nonce[2], nonce[3]);
    if (p->api_key_file && (st = load_keys(s, p->api_key_file, err))) goto fail;
    if (p->audit_log && (st = owl_audit_open(p->audit_log, &s->audit, err))) goto fail;
    struct in_addr a;
    if (inet_pton(AF_INET, p->host, &a) != 1) {
        st = owl_fail(err, OWL_ERR_USAGE, "--host %s: expected an IPv4 address", p->host);
        goto fail;
    }
    if (!is_loopback(p->host) && !s->n_keys) {
        st = owl_fail(err, OWL_ERR_USAGE, "refusing to listen on %s without --api-key-file (only loopback may go without keys)", p->host);
        goto fail;
    }
    s->models = calloc(p->n_models, sizeof *s->models);
    if (!s->models) { st = owl_fail(err, OWL_ERR_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < p->n_models; i++) {
        serve_model *m = &s->models[i];
        snprintf(m->name, sizeof m->name, "%s", p->model_names[i]);
        pthread_mutex_init(&m->lock, NULL);
        s->n_models++;
        if ((st = owl_model_open(p->model_paths[i], &m->model, err))) goto fail;
        char hex[65]; /* once, here: every response names the weights that answered */
        if ((st = owl_model_tensor_digest(m->model, hex, err))) goto fail;
        snprintf(m->digest, sizeof m->digest, "sha256:%s", hex);
        if ((st = owl_tokenizer_new(m->model, &m->tok, err))) goto fail;
        owl_engine_params ep = owl_engine_default_params();
        ep.n_threads = p->n_threads;
        ep.n_ctx = p->n_ctx;
        if ((st = owl_engine_new(m->model, &ep, &m->eng, err))) goto fail;
        if (p->chat_templates && p->chat_templates[i] && !(m->template_src = read_file(p->chat_templates[i], 1 << 20, err))) {
            st = err ? err->status : OWL_ERR_IO;
            goto fail;
        }
        const char *tsrc = m->template_src ? m->template_src : owl_model_get_info(m->model)->chat_template;
        if (tsrc) sha256_tag(tsrc, strlen(tsrc), m->template_digest);
    }
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                            (uint16_t)p->port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&(struct sockaddr_in){
                                .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port), .sin_addr = a},
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p->timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)p->max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)p->max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_END);
    if (!s->d) { st = owl_fail(err, OWL_ERR_IO, "cannot listen on %s:%d", p->host, p->port); goto fail; }
    *out = s;
    return OWL_OK;
fail:
    owl_server_free(s);
    return st;
}

void owl_server_stop(owl_server *s) { s->stop = 1; }

int owl_server_port(const owl_server *s) {
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? (int)i->port : -1;
}

int owl_server_stopping(const owl_server *s) { return s->stop; }

void owl_server_free(owl_server *s) {
    if (!s) return;
    s->stop = 1; /* in-flight generations end at their next token */
    if (s->d) MHD_stop_daemon(s->d);
    for (int waited = 0;; waited++) { /* stream workers still hold the engines */
        pthread_mutex_lock(&s->met.lock);
        int w = s->met.workers;
        pthread_mutex_unlock(&s->met.lock);
        if (!w) break;
        if (waited == 1000) { /* 10 s: leak rather than free under a running thread */
            fprintf(stderr, "owl serve: %d streams did not end; exiting without freeing\n", w);
            return;
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    for (size_t i = 0; i < s->n_models; i++) {
        serve_model *m = &s->models[i];
        owl_token_trie_free(m->trie);
        owl_engine_free(m->eng);
        owl_tokenizer_free(m->tok);
        owl_model_close(m->model);
        free(m->template_src);
        pthread_mutex_destroy(&m->lock);
    }
    free(s->models);
    owl_audit_close(s->audit); /* after the stream workers, which write their lines as they end */
    pthread_mutex_destroy(&s->met.lock);
    for (size_t i = 0; i < s->n_keys; i++) { free(s->key_id[i]); free(s->key[i]); }
    free(s);
}
