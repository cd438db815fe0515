/* testfiles.h: a scratch directory for tests that write files (often
 * deliberately malformed ones), and the open-and-expect helpers they share. */
#ifndef OWL_TEST_TESTFILES_H
#define OWL_TEST_TESTFILES_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytebuf.h"
#include "harness.h"
#include "owl.h"

static char test_tmpdir[256];

/* Creates /tmp/owl_NAME_XXXXXX; exits with status 2 if it cannot. */
static inline const char *tmpdir_create(const char *name) {
    snprintf(test_tmpdir, sizeof test_tmpdir, "/tmp/owl_%s_XXXXXX", name);
    if (!mkdtemp(test_tmpdir)) {
        perror("mkdtemp");
        exit(2);
    }
    return test_tmpdir;
}

/* A path inside the scratch directory; the last 4 results stay valid. */
static inline const char *tmp_path(const char *rel) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", test_tmpdir, rel);
    return p;
}

static inline void write_text(const char *rel, const char *text) {
    FILE *f = fopen(tmp_path(rel), "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A safetensors file: u64 LE header length, header, data_len zero bytes. */
static inline void write_safetensors_zeros(const char *rel, const char *header, size_t data_len) {
    bytebuf b = {0};
    bb_u64(&b, strlen(header));
    bb_put(&b, header, strlen(header));
    bb_zeros(&b, data_len);
    bb_write_file(&b, tmp_path(rel));
    bb_free(&b);
}

static inline void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= sizeof p) continue;
        remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

static inline void tmpdir_remove(void) { remove_tree(test_tmpdir); }

static inline owl_model *open_ok(const char *path) {
    owl_error err = {0};
    owl_model *m = NULL;
    owl_status st = owl_model_open(path, &m, &err);
    CHECK(st == OWL_OK, "%s: %s", path, err.message);
    return m;
}

/* Opening must fail with status `want` and a message containing `substr`. */
static inline void expect_open_fail(const char *path, owl_status want, const char *substr) {
    owl_model *m = NULL;
    owl_error err = {0};
    owl_status st = owl_model_open(path, &m, &err);
    CHECK(st == want && m == NULL, "%s: status %d, expected %d (%s)", path, st, want, err.message);
    CHECK(strstr(err.message, substr) != NULL, "%s: '%s' lacks '%s'", path, err.message, substr);
    owl_model_close(m);
}

#endif
