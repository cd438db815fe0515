/* hf_tokenizer_config.c: tokenizer_config.json, the transformers file that
 * says whether BOS/EOS are added, which strings are the special tokens, and
 * (in older repositories) the chat template. */
#include <string.h>

#include "core/error.h"
#include "formats/hf_config.h"
#include "formats/json_fields.h"
#include "formats/tokenizer_files.h"

/* "chat_template": "..." or [{"name": "default", "template": "..."}, {"name": "tool_use", ...}] */
static owl_status read_chat_template(owl_model *m, const json_t *tc, const char *path, owl_error *err) {
    const json_t *v = json_object_get(tc, "chat_template");
    char found[96];
    if (!v || json_is_null(v)) return OWL_OK;
    if (json_is_array(v)) {
        const json_t *pick = NULL;
        int default_seen = 0;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            const json_t *name = json_object_get(item, "name"), *tmpl = json_object_get(item, "template");
            if (!json_is_object(item) || !json_is_string(name) || !json_is_string(tmpl))
                return owl_fail(err, OWL_ERR_INPUT,
                                "%s: chat_template[%zu]: expected {\"name\": string, \"template\": string}, found %s",
                                path, i, owl_json_describe(item, found, sizeof found));
            int is_default = strcmp(json_string_value(name), "default") == 0;
            if (!pick || (is_default && !default_seen)) pick = item;
            default_seen |= is_default;
        }
        if (!pick) return OWL_OK;
        v = json_object_get(pick, "template");
    }
    if (!json_is_string(v))
        return owl_fail(err, OWL_ERR_INPUT, "%s: chat_template: expected a string or a list of named templates, found %s",
                        path, owl_json_describe(v, found, sizeof found));
    if (!(m->info.chat_template = owl_model_strndup(m, json_string_value(v), json_string_length(v))))
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    return OWL_OK;
}

/* bos_token etc.: the token's text, found in the vocabulary when one is loaded. */
static owl_status read_special_tokens(owl_model *m, const json_t *tc, const char *path, owl_error *err) {
    static const char *const keys[][2] = {
        {"bos_token", "bos"}, {"eos_token", "eos"}, {"unk_token", "unk"}, {"pad_token", "pad"}};
    char found[96];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(tc, keys[i][0]);
        if (!v || json_is_null(v)) continue;
        if (json_is_object(v)) v = json_object_get(v, "content");
        if (!json_is_string(v))
            return owl_fail(err, OWL_ERR_INPUT, "%s: %s: expected a string or {\"content\": string}, found %s", path,
                            keys[i][0], v ? owl_json_describe(v, found, sizeof found) : "an object without content");
        if (!m->vocab.n_tokens) continue;
        int64_t id = owl_vocab_lookup(m, json_string_value(v), json_string_length(v));
        owl_status st;
        if (id >= 0 && (st = owl_model_add_special(m, keys[i][1], id, err))) return st;
    }
    return OWL_OK;
}

owl_status owl_hf_tokenizer_config_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    json_t *tc;
    owl_status st = owl_json_parse_object(text, len, path, &tc, err);
    if (st) return st;
    int add_bos = m->info.tokenizer.add_bos, add_eos = m->info.tokenizer.add_eos;
    if ((st = owl_field_bool(tc, "add_bos_token", &add_bos, path, err)) ||
        (st = owl_field_bool(tc, "add_eos_token", &add_eos, path, err)) ||
        (st = read_chat_template(m, tc, path, err)) || (st = read_special_tokens(m, tc, path, err))) {
        json_decref(tc);
        return st;
    }
    m->info.tokenizer.add_bos = add_bos;
    m->info.tokenizer.add_eos = add_eos;
    /* the vocabulary's added tokens and the template are reported elsewhere; keep the metadata small */
    json_object_del(tc, "added_tokens_decoder");
    json_object_del(tc, "chat_template");
    return owl_hf_metadata_set(m, "tokenizer_config", tc, err);
}
