/* atomic_file.c: temp file + fsync + rename, so a crash or a full disk never
 * leaves a half-written model, adapter or checkpoint under the final name. */
#define _POSIX_C_SOURCE 200809L
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

owl_status owl_atomic_open(owl_atomic_file *f, const char *path, owl_error *err) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) {
        owl_atomic_abort(f);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        owl_status st = owl_fail(err, OWL_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(f->tmp_path);
        f->tmp_path = NULL;
        owl_atomic_abort(f);
        return st;
    }
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        owl_atomic_abort(f);
        return owl_fail(err, OWL_ERR_IO, "%s: fdopen failed", path);
    }
    return OWL_OK;
}

void owl_atomic_write(owl_atomic_file *f, const void *data, size_t n) {
    if (f->failed || !n) return;
    if (fwrite(data, 1, n, f->fp) != n) f->failed = errno ? errno : EIO;
    f->written += n;
}

void owl_atomic_write_zeros(owl_atomic_file *f, uint64_t n) {
    if (f->failed || !n) return;
    /* a hole: the file system stores nothing for it and reads give zeros */
    if (fflush(f->fp) != 0 || fseeko(f->fp, (off_t)n, SEEK_CUR) != 0) f->failed = errno ? errno : EIO;
    f->written += n;
}

static void fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

owl_status owl_atomic_commit(owl_atomic_file *f, owl_error *err) {
    if (!f->failed && fflush(f->fp) != 0) f->failed = errno;
    /* a trailing hole only moved the position: give the file its full size */
    if (!f->failed && ftruncate(fileno(f->fp), (off_t)f->written) != 0) f->failed = errno;
    if (!f->failed && fsync(fileno(f->fp)) != 0) f->failed = errno;
    if (fclose(f->fp) != 0 && !f->failed) f->failed = errno;
    f->fp = NULL;
    if (f->failed) {
        owl_status st = owl_fail(err, OWL_ERR_IO, "%s: write failed: %s (nothing was replaced)", f->path, strerror(f->failed));
        owl_atomic_abort(f);
        return st;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        owl_status st = owl_fail(err, OWL_ERR_IO, "%s: rename from %s failed: %s", f->path, f->tmp_path, strerror(errno));
        owl_atomic_abort(f);
        return st;
    }
    fsync_dir_of(f->path);
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
    return OWL_OK;
}

void owl_atomic_abort(owl_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
}

owl_status owl_atomic_write_file(const char *path, const void *data, size_t n, const void *tail, size_t tail_n,
                                 owl_error *err) {
    owl_atomic_file f;
    owl_status st = owl_atomic_open(&f, path, err);
    if (st) return st;
    owl_atomic_write(&f, data, n);
    if (tail_n) owl_atomic_write(&f, tail, tail_n);
    return owl_atomic_commit(&f, err); /* a failed commit removes the temp file itself */
}
