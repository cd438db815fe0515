/* fuzz_engine.c: libFuzzer harness for the engine over hostile GGUF files:
 * binding the weights (every shape and hyperparameter checked) and, when a
 * model binds, one decode of a short batch. Nothing may crash or overrun,
 * whatever the file claims. */
#include <stdlib.h>

#include "formats/gguf.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_gguf *g = NULL;
    if (owl_gguf_parse(data, size, "fuzz.gguf", &g, &err) != OWL_OK) return 0;
    owl_model *m = owl_model_new();
    if (!m) {
        owl_gguf_free(g);
        return 0;
    }
    owl_mapped_file none = {0};
    int file = owl_model_add_file(m, "fuzz.gguf", "weights", &none, size, &err);
    m->gguf = g; /* the model frees it */
    if (file >= 0 && owl_gguf_describe(m, g, file, &err) == OWL_OK && owl_model_finish(m, &err) == OWL_OK) {
        owl_engine_params p = owl_engine_default_params();
        p.n_threads = 1;
        p.n_ctx = 8;
        p.n_batch = 4;
        owl_engine *e = NULL;
        if (owl_engine_new(m, &p, &e, &err) == OWL_OK) {
            int32_t ids[3] = {0, 1, 0};
            owl_batch b = {.n_tokens = owl_engine_n_vocab(e) > 1 ? 3 : 1, .tokens = ids};
            owl_engine_decode(e, &b, &err);
            owl_engine_free(e);
        }
    }
    owl_model_close(m);
    return 0;
}
