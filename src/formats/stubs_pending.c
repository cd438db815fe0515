/* stubs_pending.c: TEMPORARY placeholders while the loaders are written; each
 * helper deletes its functions from here when its real file lands. */
#include "core/error.h"
#include "model/model.h"

owl_status owl_load_safetensors_file(owl_model *m, const char *path, owl_error *err) {
    (void)m;
    return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: safetensors not yet supported", path);
}
owl_status owl_load_hf_dir(owl_model *m, const char *dir, owl_error *err) {
    (void)m;
    return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: HF dirs not yet supported", dir);
}
owl_status owl_load_adapter_dir(owl_model *m, const char *dir, owl_error *err) {
    (void)m;
    return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: adapters not yet supported", dir);
}
owl_status owl_load_llama2c(owl_model *m, const char *path, owl_error *err) {
    (void)m;
    return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: llama2.c not yet supported", path);
}
owl_status owl_load_tokenizer_file(owl_model *m, const char *path, owl_error *err) {
    (void)m;
    return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: tokenizer files not yet supported", path);
}
