/* atomic_file.h: writes that either land whole or not at all: a temp file in
 * the target's directory, fsync, rename over the target, fsync the directory. */
#ifndef OWL_CORE_ATOMIC_FILE_H
#define OWL_CORE_ATOMIC_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "owl.h"

typedef struct owl_atomic_file {
    FILE *fp;
    char *tmp_path;
    char *path;
    uint64_t written;
    int failed;
} owl_atomic_file;

owl_status owl_atomic_open(owl_atomic_file *f, const char *path, owl_error *err);
/* Buffered write; errors are remembered and reported by commit. */
void owl_atomic_write(owl_atomic_file *f, const void *data, size_t n);
/* n zero bytes, written as a hole where the file system allows (sparse files). */
void owl_atomic_write_zeros(owl_atomic_file *f, uint64_t n);
owl_status owl_atomic_commit(owl_atomic_file *f, owl_error *err);
/* A whole file from one buffer (and an optional second one after it): open, write, commit. */
owl_status owl_atomic_write_file(const char *path, const void *data, size_t n, const void *tail, size_t tail_n,
                                 owl_error *err);
/* Removes the temp file; safe after a failed commit or without one. */
void owl_atomic_abort(owl_atomic_file *f);

#endif
