/* audit_event.c: the audit trail's side in owl serve: one event per request,
 * filled in as the request is understood (key id, model and digests, sampler,
 * token counts), written hash-chained and fdatasync'd before its response. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"
#include "core/utf8.h"

/* ---- the audit trail: an event per request, filled in as the request is
 * understood, written (fdatasync'd) before the response is queued. */
void serve_sha256_tag(const char *p, size_t n, char out[72]) {
    unsigned char md[32];
    unsigned int k = 0;
    if (EVP_Digest(p, n, md, &k, EVP_sha256(), NULL) != 1) { out[0] = 0; return; }
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* A string for the log from bytes a client chose: cut to cap at a character
 * boundary (*cut set), and with any byte of invalid UTF-8 shown as '?'. */
json_t *serve_audit_str(const char *p, size_t n, size_t cap, int *cut) {
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

void serve_audit_set(conn_state *cs, const char *key, json_t *v) {
    if (cs && cs->ev) json_object_set_new(cs->ev, key, v);
    else json_decref(v);
}

void serve_audit_begin(conn_state *cs, const char *method, const char *url) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tmv;
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tmv));
    snprintf(when + n, sizeof when - n, ".%03ldZ", now.tv_nsec / 1000000);
    cs->audit_pending = 1;
    cs->ev = json_pack("{s:s,s:s,s:s,s:o,s:o,s:n,s:n,s:n,s:n,s:n}", "verb", "serve", "time", when, "request_id", cs->id,
                       "method", serve_audit_str(method, strlen(method), 16, NULL), "route", serve_audit_str(url, strlen(url), 512, NULL),
                       "key_id", "model", "model_digest", "adapter_digest", "template_digest");
}

/* The model the request named (known or not): its name, and the digests of one that is served. */
void serve_audit_model(conn_state *cs, json_t *name, const serve_model *m) {
    if (json_is_string(name)) serve_audit_set(cs, "model", serve_audit_str(json_string_value(name), json_string_length(name), 256, NULL));
    if (!m) return;
    cs->m = m;
    serve_audit_set(cs, "model_digest", json_string(m->digest));
}

/* Sets status and duration and appends the line; on failure says why on stderr. */
owl_status serve_audit_write(owl_server *s, json_t *ev, unsigned code, const struct timespec *t0, const char *id) {
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
int serve_audit_finish(owl_server *s, conn_state *cs, unsigned code) {
    if (!s || !s->audit || !cs->audit_pending) return 0;
    cs->audit_pending = 0;
    return serve_audit_write(s, cs->ev, code, &cs->t0, cs->id) != OWL_OK;
}

void serve_audit_content_text(json_t *ev, const char *key, const char *p, size_t n) {
    int cut = 0;
    json_object_set_new(ev, key, serve_audit_str(p, n, SERVE_AUDIT_TEXT_CAP, &cut));
    if (cut) json_object_set_new(ev, "content_truncated", json_true());
}
