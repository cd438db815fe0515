/* test_stop.c: stop strings across token boundaries: held-back prefixes,
 * the earliest of several stops, text after a stop dropped, flush at the end. */
#include "harness.h"
#include "owl.h"

typedef struct run { char out[256]; size_t n; int stopped; } run;

static run feed(const char *const *stops, size_t n_stops, const char *const *pieces, size_t n_pieces) {
    run r = {{0}, 0, 0};
    owl_stop *s = NULL;
    owl_error err = {0};
    CHECK(owl_stop_new(stops, n_stops, &s, &err) == OWL_OK, "%s", err.message);
    for (size_t i = 0; s && i < n_pieces && !r.stopped; i++) {
        const char *e;
        size_t n;
        r.stopped = owl_stop_push(s, pieces[i], strlen(pieces[i]), &e, &n);
        memcpy(r.out + r.n, e, n);
        r.n += n;
    }
    if (s && !r.stopped) {
        const char *e;
        size_t n;
        owl_stop_flush(s, &e, &n);
        memcpy(r.out + r.n, e, n);
        r.n += n;
    }
    owl_stop_free(s);
    return r;
}

static void test_across_pieces(void) {
    run r = feed((const char *[]){"o w"}, 1, (const char *[]){"Hel", "lo wor", "ld"}, 3);
    CHECK(r.stopped && !strcmp(r.out, "Hell"), "'%s'", r.out);
    r = feed((const char *[]){"END"}, 1, (const char *[]){"abE", "N", "x"}, 3);
    CHECK(!r.stopped && !strcmp(r.out, "abENx"), "a near miss is released whole: '%s'", r.out);
    r = feed((const char *[]){"END"}, 1, (const char *[]){"abE", "N", "D!"}, 3);
    CHECK(r.stopped && !strcmp(r.out, "ab"), "'%s'", r.out);
    r = feed((const char *[]){"xyz", "b"}, 2, (const char *[]){"aaxy", "zb"}, 2);
    CHECK(r.stopped && !strcmp(r.out, "aa"), "the earliest stop wins: '%s'", r.out);
    r = feed(NULL, 0, (const char *[]){"plain ", "text"}, 2);
    CHECK(!r.stopped && !strcmp(r.out, "plain text"), "no stops: '%s'", r.out);
    r = feed((const char *[]){"\n\n"}, 1, (const char *[]){"line\n", "\nnext"}, 2);
    CHECK(r.stopped && !strcmp(r.out, "line"), "'%s'", r.out);
}

static void test_held_back(void) {
    owl_stop *s = NULL;
    owl_error err = {0};
    const char *stops[] = {"</answer>"};
    CHECK(owl_stop_new(stops, 1, &s, &err) == OWL_OK);
    const char *e;
    size_t n;
    CHECK(owl_stop_push(s, "42</ans", 7, &e, &n) == 0 && n == 2 && !memcmp(e, "42", 2), "only what cannot start the stop");
    CHECK(owl_stop_push(s, "x", 1, &e, &n) == 0 && n == 6 && !memcmp(e, "</ansx", 6), "released once it cannot");
    owl_stop_free(s);
    const char *bad[] = {""};
    CHECK(owl_stop_new(bad, 1, &s, &err) == OWL_ERR_USAGE && strstr(err.message, "empty"), "%s", err.message);
}

int main(void) {
    RUN(test_across_pieces);
    RUN(test_held_back);
    DONE("test_stop");
}
