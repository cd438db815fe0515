/* family.h: the table of model families owl knows, keyed by llama.cpp's
 * architecture names. The forward pass will read its traits from here. */
#ifndef OWL_MODEL_FAMILY_H
#define OWL_MODEL_FAMILY_H

#include "owl.h"

typedef struct owl_family {
    const char *id;     /* llama.cpp architecture name, e.g. "qwen2" */
    const char *label;  /* what people call it */
    int rope_style;     /* owl_rope_style of GGUF checkpoints */
} owl_family;

/* Family of a GGUF general.architecture; NULL if owl does not know it. */
const owl_family *owl_family_find(const char *arch);

#endif
