/* sha256.c: streamed SHA-256 of files through OpenSSL's EVP interface
 * (the digests the audit trail and `owl inspect --hash` report). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "owl.h"

owl_status owl_sha256_file(const char *path, char hex[65], owl_progress_fn progress, void *ctx, owl_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    uint64_t total = (fstat(fileno(fp), &st) == 0) ? (uint64_t)st.st_size : 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        fclose(fp);
        EVP_MD_CTX_free(md);
        return owl_fail(err, OWL_ERR_NOMEM, "sha256: cannot initialise OpenSSL digest");
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    owl_status st_out = OWL_OK;
    uint64_t done = 0;
    if (!buf) {
        st_out = owl_fail(err, OWL_ERR_NOMEM, "sha256: out of memory");
    } else {
        size_t n;
        while ((n = fread(buf, 1, CHUNK, fp)) > 0) {
            EVP_DigestUpdate(md, buf, n);
            done += n;
            if (progress) progress(ctx, done, total);
        }
        if (ferror(fp)) st_out = owl_fail(err, OWL_ERR_IO, "%s: read error after %llu bytes", path, (unsigned long long)done);
    }
    if (st_out == OWL_OK) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int dl = 0;
        EVP_DigestFinal_ex(md, d, &dl);
        for (unsigned i = 0; i < dl && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
        hex[64] = '\0';
    }
    free(buf);
    EVP_MD_CTX_free(md);
    fclose(fp);
    return st_out;
}
