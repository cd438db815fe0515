/* checkpoint.c: the checkpoint file. Layout (little-endian):
 *   "OWLCKPT1", u32 version, u32 0, char[64] config digest,
 *   i64 step, n_params, n_hist, n_eval,
 *   f32 params[n_params], m[n_params], v[n_params],
 *   f64 hist[n_hist], then n_eval x (i64 step, f64 loss),
 *   char[64] SHA-256 of everything before it.
 * A torn or edited file fails the trailing hash and is refused. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "train/checkpoint.h"

#define CKPT_MAGIC "OWLCKPT1"
#define CKPT_VERSION 1u
#define MAX_PARAMS (1ll << 34)
#define MAX_HIST (1ll << 28)

void train_sha256_hex(const void *data, size_t n, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int k = 0;
    if (EVP_Digest(data, n, md, &k, EVP_sha256(), NULL) != 1) k = 0;
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", i < k ? md[i] : 0);
    hex[64] = 0;
}

/* The file is built in memory, hashed, then written in one atomic commit. */
typedef struct blob {
    uint8_t *p;
    size_t n, cap;
    int fail;
} blob;

static void put(blob *b, const void *data, size_t n) {
    if (b->fail) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->fail = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_i64(blob *b, int64_t v) { put(b, &v, sizeof v); }

owl_status train_checkpoint_save(const char *path, const train_state *s, owl_error *err) {
    blob b = {0};
    uint32_t hdr[2] = {CKPT_VERSION, 0};
    put(&b, CKPT_MAGIC, 8);
    put(&b, hdr, sizeof hdr);
    put(&b, s->config_digest, 64);
    put_i64(&b, s->step);
    put_i64(&b, s->n_params);
    put_i64(&b, s->n_hist);
    put_i64(&b, s->n_eval);
    put(&b, s->params, (size_t)s->n_params * sizeof(float));
    put(&b, s->m, (size_t)s->n_params * sizeof(float));
    put(&b, s->v, (size_t)s->n_params * sizeof(float));
    put(&b, s->hist, (size_t)s->n_hist * sizeof(double));
    for (int64_t i = 0; i < s->n_eval; i++) {
        put_i64(&b, s->eval_step[i]);
        put(&b, &s->eval_loss[i], sizeof(double));
    }
    if (b.fail) {
        free(b.p);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory writing %s", path);
    }
    char hex[65];
    train_sha256_hex(b.p, b.n, hex);
    put(&b, hex, 64);
    owl_status st = b.fail ? owl_fail(err, OWL_ERR_NOMEM, "out of memory") : owl_atomic_write_file(path, b.p, b.n, NULL, 0, err);
    free(b.p);
    return st;
}

typedef struct reader {
    const uint8_t *p;
    size_t n, at;
} reader;

static int get(reader *r, void *out, size_t n) {
    if (n > r->n - r->at) return 0;
    memcpy(out, r->p + r->at, n);
    r->at += n;
    return 1;
}

owl_status train_checkpoint_load(const char *path, train_state *s, owl_error *err) {
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f) return owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap > (64ull << 30)) break;
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *p = realloc(buf, cap);
            if (!p) break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (!got) break;
    }
    fclose(f);
    owl_status st = OWL_OK;
    char hex[65];
    if (!buf || n < 8 + 8 + 64 + 32 + 64) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: not an owl checkpoint (too short)", path);
        goto out;
    }
    train_sha256_hex(buf, n - 64, hex);
    if (memcmp(buf, CKPT_MAGIC, 8) != 0 || memcmp(hex, buf + n - 64, 64) != 0) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: not an owl checkpoint, or damaged (its checksum does not match)", path);
        goto out;
    }
    reader r = {buf, n - 64, 8};
    uint32_t hdr[2];
    get(&r, hdr, sizeof hdr);
    if (hdr[0] != CKPT_VERSION) {
        st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: checkpoint version %u, this owl reads %u", path, hdr[0], CKPT_VERSION);
        goto out;
    }
    get(&r, s->config_digest, 64);
    s->config_digest[64] = 0;
    int ok = get(&r, &s->step, 8) && get(&r, &s->n_params, 8) && get(&r, &s->n_hist, 8) && get(&r, &s->n_eval, 8);
    if (!ok || s->step < 0 || s->n_params < 0 || s->n_params > MAX_PARAMS || s->n_hist < 0 || s->n_hist > MAX_HIST ||
        s->n_eval < 0 || s->n_eval > MAX_HIST ||
        (uint64_t)s->n_params * 12 + (uint64_t)s->n_hist * 8 + (uint64_t)s->n_eval * 16 != r.n - r.at) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: checkpoint sizes do not match its length", path);
        goto out;
    }
    size_t np = (size_t)s->n_params;
    s->params = malloc(np * sizeof(float) + 1);
    s->m = malloc(np * sizeof(float) + 1);
    s->v = malloc(np * sizeof(float) + 1);
    s->hist = malloc((size_t)s->n_hist * sizeof(double) + 1);
    s->eval_step = malloc((size_t)s->n_eval * sizeof(int64_t) + 1);
    s->eval_loss = malloc((size_t)s->n_eval * sizeof(double) + 1);
    if (!s->params || !s->m || !s->v || !s->hist || !s->eval_step || !s->eval_loss) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    get(&r, s->params, np * sizeof(float));
    get(&r, s->m, np * sizeof(float));
    get(&r, s->v, np * sizeof(float));
    get(&r, s->hist, (size_t)s->n_hist * sizeof(double));
    for (int64_t i = 0; i < s->n_eval; i++) {
        get(&r, &s->eval_step[i], 8);
        get(&r, &s->eval_loss[i], 8);
    }
out:
    free(buf);
    if (st) train_state_free(s);
    return st;
}

void train_state_free(train_state *s) {
    free(s->params);
    free(s->m);
    free(s->v);
    free(s->hist);
    free(s->eval_step);
    free(s->eval_loss);
    memset(s, 0, sizeof *s);
}
