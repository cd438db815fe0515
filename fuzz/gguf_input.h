/* gguf_input.h: what the GGUF-based fuzz harnesses share: the input parsed
 * as a GGUF and described as a model, or NULL where the reader refuses it. */
#ifndef OWL_FUZZ_GGUF_INPUT_H
#define OWL_FUZZ_GGUF_INPUT_H

#include "formats/gguf.h"
#include "model/model.h"

static inline owl_model *fuzz_gguf_model(const uint8_t *data, size_t size) {
    owl_error err;
    owl_gguf *g = NULL;
    if (owl_gguf_parse(data, size, "fuzz.gguf", &g, &err) != OWL_OK) return NULL;
    owl_model *m = owl_model_new();
    if (!m) {
        owl_gguf_free(g);
        return NULL;
    }
    owl_mapped_file none = {0};
    int file = owl_model_add_file(m, "fuzz.gguf", "weights", &none, size, &err);
    m->gguf = g; /* the model frees it */
    if (file < 0 || owl_gguf_describe(m, g, file, &err) != OWL_OK || owl_model_finish(m, &err) != OWL_OK) {
        owl_model_close(m);
        return NULL;
    }
    return m;
}

#endif
