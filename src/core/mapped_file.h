/* mapped_file.h: read-only memory maps of input files (zero-copy loading). */
#ifndef OWL_CORE_MAPPED_FILE_H
#define OWL_CORE_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef struct owl_mapped_file {
    const uint8_t *data; /* NULL for an empty file */
    uint64_t size;
    int is_mmap;
} owl_mapped_file;

owl_status owl_map_file(const char *path, owl_mapped_file *out, owl_error *err);
void owl_unmap_file(owl_mapped_file *f);

/* Reads a whole small file (JSON, text) into a NUL-terminated heap buffer,
 * refusing files larger than max_bytes. */
owl_status owl_read_small_file(const char *path, uint64_t max_bytes, char **out, size_t *len, owl_error *err);

int owl_path_is_dir(const char *path);
int owl_path_exists(const char *path);
/* Joins dir and name into a new heap string. */
char *owl_path_join(const char *dir, const char *name);

#endif
