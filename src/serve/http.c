/* http.c: the HTTP side on libmicrohttpd: a request's body gathered under the
 * cap, the key checked, the route chosen, and every response sent through one
 * place that counts it, gives it its request id and model digest headers, and
 * writes its audit line first. Errors are OpenAI-shaped. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"
#include "core/utf8.h"
#include "serve/page.h"

/* The server and request this connection thread is answering (one thread per connection),
   so that every response is counted and audited without threading them through each reply. */
static _Thread_local owl_server *tl_server;
static _Thread_local conn_state *tl_req;

void serve_count_response(unsigned code) {
    owl_server *s = tl_server;
    if (!s) return;
    int k = code < 300 ? 0 : code == 401 ? 2 : code == 404 ? 3 : code == 413 ? 4 : code == 429 ? 5 : 1;
    pthread_mutex_lock(&s->met.lock);
    s->met.requests[k]++;
    pthread_mutex_unlock(&s->met.lock);
}

void serve_add_request_headers(struct MHD_Response *r, const conn_state *cs) {
    if (!cs) return;
    MHD_add_response_header(r, "X-Request-Id", cs->id);
    if (cs->m) MHD_add_response_header(r, "X-Owl-Model-Digest", cs->m->digest);
}

enum MHD_Result serve_send_text(struct MHD_Connection *c, unsigned code, const char *type, char *body, size_t len) {
    conn_state *cs = tl_req;
    if (cs && serve_audit_finish(tl_server, cs, code)) {
        free(body);
        return serve_send_error(c, 500, "server_error", NULL, "the audit log cannot be written: the request is refused");
    }
    serve_count_response(code);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", type);
    serve_add_request_headers(r, cs);
    if (code == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (code == 429) MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result serve_send_json(struct MHD_Connection *c, unsigned code, json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) return MHD_NO;
    return serve_send_text(c, code, "application/json", s, strlen(s));
}

enum MHD_Result serve_send_error(struct MHD_Connection *c, unsigned code, const char *type, const char *param,
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
    return serve_send_json(c, code, e);
}

int serve_text_add(void *ctx, const char *t, size_t n) {
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

static enum MHD_Result route(owl_server *s, struct MHD_Connection *c, const char *url, const char *method,
                             conn_state *cs) {
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (get && !strcmp(url, "/health")) return serve_send_json(c, 200, json_pack("{s:s}", "status", "ok"));
    if (s->n_keys) {
        const char *id = serve_auth_check(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
        if (!id) return serve_send_error(c, 401, "invalid_request_error", NULL, "Incorrect or missing API key");
        fprintf(stderr, "owl serve: %s %s key=%s\n", method, url, id);
        serve_audit_set(cs, "key_id", serve_audit_str(id, strlen(id), 256, NULL));
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
        return serve_send_json(c, 200, json_pack("{s:s,s:o}", "object", "list", "data", a));
    }
    if (get && !strcmp(url, "/metrics")) return serve_send_metrics(s, c);
    if (get && !strcmp(url, "/")) {
        char *page = strdup(owl_serve_page);
        return page ? serve_send_text(c, 200, "text/html; charset=utf-8", page, strlen(page)) : MHD_NO;
    }
    int known = !strcmp(url, "/v1/chat/completions") || !strcmp(url, "/v1/completions") ||
                !strcmp(url, "/tokenize") || !strcmp(url, "/detokenize");
    if (!known) return serve_send_error(c, 404, "invalid_request_error", NULL, "no route %s %s", method, url);
    if (!post) return serve_send_error(c, 405, "invalid_request_error", NULL, "%s takes POST", url);
    if (cs->too_big) return serve_send_error(c, 413, "invalid_request_error", NULL, "body larger than %zu bytes", s->p.max_body);
    json_error_t je;
    json_t *req = json_loadb(cs->body ? cs->body : "", cs->len, JSON_REJECT_DUPLICATES, &je);
    if (!req) return serve_send_error(c, 400, "invalid_request_error", NULL, "malformed JSON at byte %d: %s", je.position, je.text);
    enum MHD_Result r;
    if (!strcmp(url, "/v1/chat/completions")) r = serve_route_generate(s, c, cs, req, 1);
    else if (!strcmp(url, "/v1/completions")) r = serve_route_generate(s, c, cs, req, 0);
    else r = serve_route_tokenize(s, c, cs, req, !strcmp(url, "/detokenize"));
    json_decref(req);
    return r;
}

enum MHD_Result serve_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
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
        if (s->audit && !(!strcmp(method, "GET") && !strcmp(url, "/health"))) serve_audit_begin(cs, method, url);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->p.max_body) {
            cs->too_big = 1;
            return serve_send_error(c, 413, "invalid_request_error", NULL, "body larger than %zu bytes", s->p.max_body);
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

void serve_on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    conn_state *cs = *con_cls;
    if (cs && tl_req == cs) tl_req = NULL;
    if (cs && cs->audit_pending) { /* no response was queued (the client left, a timeout, no memory): still a request */
        char why[96];
        snprintf(why, sizeof why, "no response: the connection ended (libmicrohttpd termination code %d)", (int)t);
        if (cs->ev) json_object_set_new(cs->ev, "error", json_string(why));
        serve_audit_write(cls, cs->ev, 0, &cs->t0, cs->id);
    }
    if (cs) { json_decref(cs->ev); free(cs->body); free(cs); }
    *con_cls = NULL;
}
