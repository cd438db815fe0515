/* fuzz_hf_config.c: libFuzzer harness for the Hugging Face text files: the
 * same bytes go to the config.json, tokenizer_config.json and README.md
 * front-matter readers, then the JSON report. */
#include <stdlib.h>

#include "formats/hf_config.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    const char *text = (const char *)data;
    owl_model *m = owl_model_new();
    if (!m) return 0;
    owl_hf_config_parse(m, text, size, "config.json", &err);
    owl_hf_tokenizer_config_parse(m, text, size, "tokenizer_config.json", &err);
    if (owl_hf_readme_parse(m, text, size, "README.md", &err) == OWL_OK && owl_model_finish(m, &err) == OWL_OK) {
        char *report = NULL;
        if (owl_inspect_json(m, NULL, &report, &err) == OWL_OK) free(report);
    }
    owl_model_close(m);
    return 0;
}
