/* server.h: owl serve's insides, shared by its parts: the server and its
 * models (server.c), keys (auth.c), the audit event of each request
 * (audit_event.c), responses and routing (http.c), request validation
 * (requests.c), the generation routes (completions.c), /tokenize
 * (tokenize.c) and /metrics (metrics.c). Internal to src/serve. */
#ifndef OWL_SERVE_SERVER_H
#define OWL_SERVE_SERVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "owl.h"

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

/* Prometheus histograms (metrics.c holds the bucket bounds). */
#define SERVE_N_BUCKETS 11
typedef struct histogram {
    uint64_t count[SERVE_N_BUCKETS + 1];
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

/* A growing byte buffer, NUL-terminated. */
typedef struct text_buf { char *p; size_t n, cap; } text_buf;
/* Appends; an owl_text_fn (ctx is the text_buf). Nonzero: out of memory. */
int serve_text_add(void *ctx, const char *t, size_t n);

/* ---- server.c */
char *serve_read_file(const char *path, size_t cap, owl_error *err);
serve_model *serve_find_model(owl_server *s, const char *name);

/* ---- auth.c */
owl_status serve_load_keys(owl_server *s, const char *path, owl_error *err);
/* The id of the key presented, or NULL. Every key is compared, in constant time. */
const char *serve_auth_check(const owl_server *s, const char *hdr);

/* ---- audit_event.c */
#define SERVE_AUDIT_TEXT_CAP (1u << 20)
void serve_sha256_tag(const char *p, size_t n, char out[72]);
json_t *serve_audit_str(const char *p, size_t n, size_t cap, int *cut);
void serve_audit_set(conn_state *cs, const char *key, json_t *v);
void serve_audit_begin(conn_state *cs, const char *method, const char *url);
void serve_audit_model(conn_state *cs, json_t *name, const serve_model *m);
owl_status serve_audit_write(owl_server *s, json_t *ev, unsigned code, const struct timespec *t0, const char *id);
int serve_audit_finish(owl_server *s, conn_state *cs, unsigned code);
void serve_audit_content_text(json_t *ev, const char *key, const char *p, size_t n);

/* ---- http.c: every response goes out through these, counted and audited */
void serve_count_response(unsigned code);
void serve_add_request_headers(struct MHD_Response *r, const conn_state *cs);
enum MHD_Result serve_send_text(struct MHD_Connection *c, unsigned code, const char *type, char *body, size_t len);
enum MHD_Result serve_send_json(struct MHD_Connection *c, unsigned code, json_t *j);
enum MHD_Result serve_send_error(struct MHD_Connection *c, unsigned code, const char *type, const char *param,
                                 const char *fmt, ...) OWL_PRINTF(5, 6);
enum MHD_Result serve_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls);
void serve_on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t);

/* ---- requests.c: request validation; every field's type checked */
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
/* NULL when valid; else what is wrong, with *param the field. */
const char *serve_validate_common(owl_server *s, json_t *req, gen_req *g, const char **param);

/* ---- completions.c, tokenize.c, metrics.c: the routes */
enum MHD_Result serve_route_generate(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int chat);
enum MHD_Result serve_route_tokenize(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int detok);
void serve_observe(histogram *h, double x);
enum MHD_Result serve_send_metrics(owl_server *s, struct MHD_Connection *c);

#endif
