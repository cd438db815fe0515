/* fuzz_sentencepiece.c: libFuzzer harness for SentencePiece .model files
 * (the protobuf reader and the ModelProto fields), then the description and
 * report built from them. */
#include <stdlib.h>

#include "formats/tokenizer_files.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_model *m = owl_model_new();
    if (!m) return 0;
    char *report = NULL;
    if (owl_sentencepiece_parse(m, data, size, "fuzz.model", &err) == OWL_OK && owl_model_finish(m, &err) == OWL_OK &&
        owl_inspect_json(m, NULL, &report, &err) == OWL_OK)
        free(report);
    owl_model_close(m);
    return 0;
}
