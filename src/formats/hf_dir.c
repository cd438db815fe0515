/* hf_dir.c: a Hugging Face model directory: config.json (required), the
 * safetensors weights (one file or index + shards), the tokenizer, and the
 * optional generation_config.json, tokenizer_config.json, chat_template.jinja
 * and README.md. Pickle checkpoints are refused, never unpickled. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "formats/hf_config.h"
#include "formats/json_fields.h"
#include "formats/safetensors.h"
#include "model/names.h"

#define MAX_DIR_ENTRIES 100000 /* stop scanning absurd directories */

/* A small file of the directory read whole and registered; *text is NULL
   when the file is absent and not required. */
static owl_status read_file(owl_model *m, const char *dir, const char *name, const char *role, int required,
                            char **text, size_t *len, const char **path, owl_error *err) {
    *text = NULL;
    char *p = owl_path_join(dir, name);
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_status st = OWL_OK;
    if (!owl_path_exists(p)) {
        if (required)
            st = owl_fail(err, OWL_ERR_INPUT, "%s: no %s (a Hugging Face model directory needs one)", dir, name);
    } else if ((st = owl_read_small_file(p, OWL_MAX_CONFIG_BYTES, text, len, err)) == OWL_OK) {
        int file = owl_model_add_file(m, p, role, NULL, *len, err);
        if (file < 0) {
            free(*text);
            *text = NULL;
            st = err ? err->status : OWL_ERR_NOMEM;
        } else {
            *path = m->files[file].path;
        }
    }
    free(p);
    return st;
}

static int dir_has(const char *dir, const char *name) {
    char *p = owl_path_join(dir, name);
    int ok = p && owl_path_exists(p);
    free(p);
    return ok;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The one *.safetensors file of a directory without model.safetensors;
   *found is NULL if there is none. More than one without an index is an error. */
static owl_status single_safetensors(const char *dir, char **found, owl_error *err) {
    *found = NULL;
    DIR *d = opendir(dir);
    if (!d) return owl_fail(err, OWL_ERR_IO, "%s: cannot list the directory", dir);
    char *name = NULL;
    size_t seen = 0;
    struct dirent *e;
    owl_status st = OWL_OK;
    while (st == OWL_OK && (e = readdir(d)) != NULL && seen++ < MAX_DIR_ENTRIES) {
        if (!ends_with(e->d_name, ".safetensors") || e->d_name[0] == '.') continue;
        if (name)
            st = owl_fail(err, OWL_ERR_INPUT,
                          "%s: several .safetensors files (%s, %s, ...) but no model.safetensors.index.json to say "
                          "which tensors each holds",
                          dir, name, e->d_name);
        else if (!(name = strdup(e->d_name)))
            st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    closedir(d);
    if (st == OWL_OK && name && !(*found = owl_path_join(dir, name))) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    free(name);
    return st;
}

static owl_status load_weights(owl_model *m, const char *dir, owl_error *err) {
    static const char *const pickles[] = {"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt",
                                          "consolidated.00.pth"};
    json_t *meta = NULL;
    size_t first = m->n_tensors;
    owl_status st = OWL_OK;
    char *p = NULL;
    const char *key = "safetensors_metadata";
    if (dir_has(dir, "model.safetensors.index.json")) {
        p = owl_path_join(dir, "model.safetensors.index.json");
        key = "weights_index_metadata";
        st = p ? owl_safetensors_load_index(m, p, &meta, err) : owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    } else if (dir_has(dir, "model.safetensors")) {
        p = owl_path_join(dir, "model.safetensors");
        st = p ? owl_safetensors_load(m, p, "weights", &meta, err) : owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    } else if ((st = single_safetensors(dir, &p, err)) == OWL_OK && p) {
        st = owl_safetensors_load(m, p, "weights", &meta, err);
    } else if (st == OWL_OK) {
        for (size_t i = 0; i < sizeof pickles / sizeof pickles[0]; i++)
            if (dir_has(dir, pickles[i]))
                return owl_fail(err, OWL_ERR_UNSUPPORTED,
                                "%s: the weights are in %s, a pickle file: pickle files are not loaded for safety; "
                                "convert to safetensors",
                                dir, pickles[i]);
        return OWL_OK; /* a config-only directory: description without tensors */
    }
    free(p);
    if (st == OWL_OK) st = owl_model_canonical_names(m, first, m->info.family, err);
    if (st == OWL_OK && meta) {
        st = owl_hf_metadata_set(m, key, meta, err);
        meta = NULL;
    }
    if (meta) json_decref(meta);
    return st;
}

/* tokenizer.json, else tokenizer.model; a kind owl cannot read yet is skipped. */
static owl_status load_tokenizer(owl_model *m, const char *dir, owl_error *err) {
    static const char *const names[] = {"tokenizer.json", "tokenizer.model"};
    for (size_t i = 0; i < 2; i++) {
        if (!dir_has(dir, names[i])) continue;
        char *p = owl_path_join(dir, names[i]);
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        owl_status st = owl_load_tokenizer_file(m, p, err);
        free(p);
        if (st == OWL_ERR_UNSUPPORTED) {
            owl_error_clear(err); /* described without a vocabulary */
            st = OWL_OK;
        }
        return st;
    }
    return OWL_OK;
}

/* Optional JSON object files kept whole in the metadata under `key`. */
static owl_status load_json_meta(owl_model *m, const char *dir, const char *name, const char *key, owl_error *err) {
    char *text;
    size_t len;
    const char *path;
    json_t *obj;
    owl_status st = read_file(m, dir, name, key, 0, &text, &len, &path, err);
    if (st || !text) return st;
    st = owl_json_parse_object(text, len, path, &obj, err);
    free(text);
    return st ? st : owl_hf_metadata_set(m, key, obj, err);
}

static owl_status load_text_files(owl_model *m, const char *dir, owl_error *err) {
    char *text;
    size_t len;
    const char *path;
    owl_status st = read_file(m, dir, "tokenizer_config.json", "tokenizer_config", 0, &text, &len, &path, err);
    if (st) return st;
    if (text) {
        st = owl_hf_tokenizer_config_parse(m, text, len, path, err);
        free(text);
        if (st) return st;
    }
    /* chat_template.jinja is what transformers writes now; it wins over the JSON field */
    if ((st = read_file(m, dir, "chat_template.jinja", "chat_template", 0, &text, &len, &path, err))) return st;
    if (text) {
        if (!owl_utf8_valid(text, len) || memchr(text, '\0', len)) st = owl_fail(err, OWL_ERR_INPUT, "%s: not UTF-8 text", path);
        else if (!(m->info.chat_template = owl_model_strndup(m, text, len)))
            st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        free(text);
        if (st) return st;
    }
    if ((st = read_file(m, dir, "README.md", "readme", 0, &text, &len, &path, err))) return st;
    if (text) {
        st = owl_hf_readme_parse(m, text, len, path, err);
        free(text);
    }
    return st;
}

/* The directory's own name ("SmolLM2-135M" for ".../SmolLM2-135M/"). */
static owl_status set_name(owl_model *m, const char *dir, owl_error *err) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    if (n > start && !(m->info.name = owl_model_strndup(m, dir + start, n - start)))
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    return OWL_OK;
}

owl_status owl_load_hf_dir(owl_model *m, const char *dir, owl_error *err) {
    char *text;
    size_t len;
    const char *config_path;
    m->info.format = OWL_FORMAT_HF_DIR;
    owl_status st = set_name(m, dir, err);
    if (st || (st = read_file(m, dir, "config.json", "config", 1, &text, &len, &config_path, err))) return st;
    st = owl_hf_config_parse(m, text, len, config_path, err);
    free(text);
    if (st || (st = load_json_meta(m, dir, "generation_config.json", "generation_config", err)) ||
        (st = load_weights(m, dir, err)) || (st = load_tokenizer(m, dir, err)))
        return st;
    /* the tokenizer file may name its own special ids: config.json's win over
       those, and tokenizer_config.json's token strings win over both */
    const json_t *config = json_object_get(m->metadata, "config");
    if ((st = owl_hf_config_specials(m, config, config_path, err)) || (st = load_text_files(m, dir, err))) return st;
    if (!m->info.hp.n_vocab) m->info.hp.n_vocab = (int64_t)m->vocab.n_tokens;
    return OWL_OK;
}
