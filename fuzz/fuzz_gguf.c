/* fuzz_gguf.c: libFuzzer harness for the GGUF reader and the description
 * built from it (metadata, vocabulary, tensors), plus the JSON report. */
#include <stdlib.h>

#include "gguf_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_model *m = fuzz_gguf_model(data, size);
    if (!m) return 0;
    char *report = NULL;
    if (owl_inspect_json(m, NULL, &report, &err) == OWL_OK) free(report);
    owl_model_close(m);
    return 0;
}
