/* fuzz_gguf.c: libFuzzer harness for the GGUF reader and the description
 * built from it (metadata, vocabulary, tensors), plus the JSON report. */
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
        char *report = NULL;
        if (owl_inspect_json(m, NULL, &report, &err) == OWL_OK) free(report);
    }
    owl_model_close(m);
    return 0;
}
