/* open.c: owl_model_open, which recognises what a path holds (by magic bytes
 * and directory contents, never by trusting an extension alone) and hands it
 * to the right format loader. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

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

/* Reads up to n leading bytes; returns how many were read, -1 on error. */
static long read_head(const char *path, unsigned char *buf, size_t n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t got = fread(buf, 1, n, fp);
    fclose(fp);
    return (long)got;
}

static owl_status open_dir(owl_model *m, const char *path, owl_error *err) {
    if (dir_has(path, "adapter_config.json")) return owl_load_adapter_dir(m, path, err);
    if (dir_has(path, "config.json") || dir_has(path, "model.safetensors") ||
        dir_has(path, "model.safetensors.index.json"))
        return owl_load_hf_dir(m, path, err);
    if (dir_has(path, "tokenizer.json") || dir_has(path, "tokenizer.model") ||
        (dir_has(path, "encoder.json") && dir_has(path, "vocab.bpe")))
        return owl_load_tokenizer_file(m, path, err);
    return owl_fail(err, OWL_ERR_INPUT,
                    "%s: directory holds no model owl recognises (expected config.json with *.safetensors, "
                    "adapter_config.json, tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe)",
                    path);
}

static owl_status open_file(owl_model *m, const char *path, owl_error *err) {
    unsigned char head[16] = {0};
    long n = read_head(path, head, sizeof head);
    if (n < 0) return owl_fail(err, OWL_ERR_IO, "%s: cannot open", path);
    if ((n >= 4 && memcmp(head, "GGUF", 4) == 0) || ends_with(path, ".gguf")) return owl_load_gguf(m, path, err);
    /* safetensors: u64 little-endian header length, then '{' */
    if (n >= 9 && head[8] == '{') return owl_load_safetensors_file(m, path, err);
    if (ends_with(path, ".json") || ends_with(path, ".model") || strstr(path, ".model.v") ||
        ends_with(path, "vocab.bpe") || (n >= 1 && head[0] == '{'))
        return owl_load_tokenizer_file(m, path, err);
    /* llama2.c checkpoints have no magic (v0) or "ak42" (v1/v2); its loader
       also recognises llama2.c tokenizer .bin files by their structure. */
    return owl_load_llama2c(m, path, err);
}

owl_status owl_model_open(const char *path, owl_model **out, owl_error *err) {
    *out = NULL;
    owl_error_clear(err);
    if (!path || !*path) return owl_fail(err, OWL_ERR_USAGE, "no model path given");
    if (!owl_path_exists(path))
        return owl_fail(err, OWL_ERR_IO, "%s: no such file or directory", path);
    owl_model *m = owl_model_new();
    if (!m) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_status st = owl_path_is_dir(path) ? open_dir(m, path, err) : open_file(m, path, err);
    if (st == OWL_OK) st = owl_model_finish(m, err);
    if (st != OWL_OK) {
        owl_model_close(m);
        return st;
    }
    *out = m;
    return OWL_OK;
}
