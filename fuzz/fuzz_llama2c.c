/* fuzz_llama2c.c: libFuzzer harness for llama2.c files parsed from memory:
 * checkpoints of every version, and tokenizer .bin files both read to the
 * end and with a vocabulary size given; then the description and report. */
#include <stdlib.h>

#include "formats/llama2c.h"
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
    if (m && owl_llama2c_parse(m, data, size, "fuzz.bin", &err) == OWL_OK) finish_and_report(m);
    owl_model_close(m);
    /* a tokenizer by itself, and beside a checkpoint whose vocabulary size
       the last byte stands in for */
    uint64_t counts[2] = {0, size ? data[size - 1] : 1};
    for (int i = 0; i < 2; i++) {
        m = owl_model_new();
        if (m && owl_llama2c_tokenizer_parse(m, data, size, counts[i], "fuzz_tok.bin", &err) == OWL_OK)
            finish_and_report(m);
        owl_model_close(m);
    }
    return 0;
}
