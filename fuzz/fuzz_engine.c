/* fuzz_engine.c: libFuzzer harness for the engine over hostile GGUF files:
 * binding the weights (every shape and hyperparameter checked) and, when a
 * model binds, one decode of a short batch. Nothing may crash or overrun,
 * whatever the file claims. */
#include <stdlib.h>

#include "gguf_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_model *m = fuzz_gguf_model(data, size);
    if (!m) return 0;
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
    owl_model_close(m);
    return 0;
}
