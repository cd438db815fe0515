/* fuzz_safetensors.c: libFuzzer harness for the safetensors header reader,
 * the canonical tensor names and the JSON report built from the result. */
#include <stdlib.h>

#include "formats/safetensors.h"
#include "model/model.h"
#include "model/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_model *m = owl_model_new();
    if (!m) return 0;
    json_t *meta = NULL;
    int file = owl_model_add_file(m, "fuzz.safetensors", "weights", NULL, size, &err);
    if (file >= 0 && owl_safetensors_parse(m, file, data, size, "fuzz.safetensors", &meta, &err) == OWL_OK &&
        owl_model_canonical_names(m, 0, "gemma2", &err) == OWL_OK && owl_model_finish(m, &err) == OWL_OK) {
        m->metadata = meta; /* the model frees it */
        meta = NULL;
        char *report = NULL;
        if (owl_inspect_json(m, NULL, &report, &err) == OWL_OK) free(report);
    }
    if (meta) json_decref(meta);
    owl_model_close(m);
    return 0;
}
