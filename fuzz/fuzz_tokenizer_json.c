/* fuzz_tokenizer_json.c: libFuzzer harness for Hugging Face tokenizer.json
 * and for the encoder.json + vocab.bpe pair (the same bytes serve as both
 * files, so the merges reader sees arbitrary lines), then the report. */
#include <stdlib.h>

#include "formats/tokenizer_files.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finish_and_report(owl_model *m) {
    owl_error err;
    char *report = NULL;
    if (owl_model_finish(m, &err) == OWL_OK && owl_inspect_json(m, NULL, &report, &err) == OWL_OK) free(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    owl_model *m = owl_model_new();
    if (m && owl_tokenizer_json_parse(m, (const char *)data, size, "fuzz.json", &err) == OWL_OK) finish_and_report(m);
    owl_model_close(m);
    m = owl_model_new();
    if (m && owl_bpe_files_parse(m, (const char *)data, size, data, size, "fuzz_encoder.json", &err) == OWL_OK)
        finish_and_report(m);
    owl_model_close(m);
    return 0;
}
