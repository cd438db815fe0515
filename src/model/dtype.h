/* dtype.h: the table of tensor element types (one row per ggml type id).
 * Kernels will add their function pointers to this table, not switches. */
#ifndef OWL_MODEL_DTYPE_H
#define OWL_MODEL_DTYPE_H

#include <stdint.h>

#include "owl.h"

typedef struct owl_dtype_traits {
    const char *name;     /* NULL: id not assigned */
    uint32_t block_size;  /* elements per block; 0: not sized (removed type) */
    uint32_t type_size;   /* bytes per block */
    int removed;          /* ggml dropped this id; files using it must be re-converted */
} owl_dtype_traits;

const owl_dtype_traits *owl_dtype_get(int dtype);
/* Looks a type up by name ("Q4_K", "bf16"); -1 if unknown. */
int owl_dtype_from_name(const char *name);

#endif
