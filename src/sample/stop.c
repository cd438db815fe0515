/* stop.c: stop strings matched across token boundaries. Generated text goes
 * through a small holding buffer: whatever could still be the start of a
 * stop string is held back, everything else is released at once, and a
 * completed stop string ends generation without being emitted. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "owl.h"

#define MAX_STOPS 64
#define MAX_STOP_LEN 4096

struct owl_stop {
    char **stop;
    size_t *len;
    size_t n, longest;
    char *buf;        /* held text, then room for the next piece */
    size_t held, cap;
    char *out;        /* what the last call released */
    size_t out_cap;
};

owl_status owl_stop_new(const char *const *stops, size_t n, owl_stop **out, owl_error *err) {
    if (!out || (n && !stops)) return owl_fail(err, OWL_ERR_USAGE, "owl_stop_new: stops and out must not be NULL");
    *out = NULL;
    if (n > MAX_STOPS) return owl_fail(err, OWL_ERR_USAGE, "%zu stop strings: at most %d", n, MAX_STOPS);
    owl_stop *s = calloc(1, sizeof *s);
    if (!s || !(s->stop = calloc(n ? n : 1, sizeof *s->stop)) || !(s->len = calloc(n ? n : 1, sizeof *s->len))) {
        owl_stop_free(s);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = stops[i] ? strlen(stops[i]) : 0;
        if (!l || l > MAX_STOP_LEN) {
            owl_stop_free(s);
            return owl_fail(err, OWL_ERR_USAGE, "stop string %zu is empty or longer than %d bytes", i + 1, MAX_STOP_LEN);
        }
        if (!(s->stop[i] = strdup(stops[i]))) {
            owl_stop_free(s);
            return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        }
        s->len[i] = l;
        if (l > s->longest) s->longest = l;
        s->n++;
    }
    *out = s;
    return OWL_OK;
}

void owl_stop_free(owl_stop *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->stop[i]);
    free(s->stop);
    free(s->len);
    free(s->buf);
    free(s->out);
    free(s);
}

static int reserve(char **p, size_t *cap, size_t need) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *q = realloc(*p, c);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

/* the longest tail of buf[0..n) that is a proper prefix of some stop string */
static size_t held_tail(const owl_stop *s, const char *buf, size_t n) {
    size_t best = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t max = s->len[i] - 1 < n ? s->len[i] - 1 : n;
        for (size_t k = max; k > best; k--)
            if (!memcmp(buf + n - k, s->stop[i], k)) {
                best = k;
                break;
            }
    }
    return best;
}

int owl_stop_push(owl_stop *s, const char *text, size_t len, const char **emit, size_t *n_emit) {
    *emit = "";
    *n_emit = 0;
    if (!reserve(&s->buf, &s->cap, s->held + len + 1)) return -1;
    memcpy(s->buf + s->held, text, len);
    size_t n = s->held + len;
    /* a stop string completed: release what comes before the earliest one */
    size_t cut = n;
    for (size_t i = 0; i < s->n; i++) {
        char *hit = memmem(s->buf, n, s->stop[i], s->len[i]);
        if (hit && (size_t)(hit - s->buf) < cut) cut = (size_t)(hit - s->buf);
    }
    int stopped = cut < n;
    size_t keep = stopped ? 0 : held_tail(s, s->buf, n);
    size_t release = stopped ? cut : n - keep;
    if (!reserve(&s->out, &s->out_cap, release + 1)) return -1;
    memcpy(s->out, s->buf, release);
    s->out[release] = '\0';
    memmove(s->buf, s->buf + n - keep, keep);
    s->held = keep;
    *emit = s->out;
    *n_emit = release;
    return stopped;
}

void owl_stop_flush(owl_stop *s, const char **emit, size_t *n_emit) {
    *emit = "";
    *n_emit = 0;
    if (!s->held || !reserve(&s->out, &s->out_cap, s->held + 1)) return;
    memcpy(s->out, s->buf, s->held);
    s->out[s->held] = '\0';
    *emit = s->out;
    *n_emit = s->held;
    s->held = 0;
}
