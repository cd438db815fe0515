/* mapped_file.c: mmap-based input files and small-file reads. */
#define _POSIX_C_SOURCE 200809L
#include "core/mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

owl_status owl_map_file(const char *path, owl_mapped_file *out, owl_error *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return owl_fail(err, OWL_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return owl_fail(err, OWL_ERR_INPUT, "%s: not a regular file", path);
    }
    out->size = (uint64_t)st.st_size;
    if (out->size == 0) {
        close(fd);
        return OWL_OK;
    }
    if (out->size > (uint64_t)SIZE_MAX) {
        close(fd);
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: file too large to map", path);
    }
    void *p = mmap(NULL, (size_t)out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return owl_fail(err, OWL_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    out->data = p;
    out->is_mmap = 1;
    return OWL_OK;
}

void owl_unmap_file(owl_mapped_file *f) {
    if (f->data && f->is_mmap) munmap((void *)f->data, (size_t)f->size);
    memset(f, 0, sizeof *f);
}

owl_status owl_read_small_file(const char *path, uint64_t max_bytes, char **out, size_t *len, owl_error *err) {
    *out = NULL;
    if (len) *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return owl_fail(err, OWL_ERR_INPUT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(fp);
        return owl_fail(err, OWL_ERR_INPUT, "%s: %lld bytes, more than the %llu allowed for this kind of file", path,
                        (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(fp);
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = n ? fread(buf, 1, n, fp) : 0;
    fclose(fp);
    if (got != n) {
        free(buf);
        return owl_fail(err, OWL_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return OWL_OK;
}

int owl_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int owl_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *owl_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}
