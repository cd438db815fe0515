/* bpe_files.c: byte-level BPE as two files, GPT-2's and Llama 3's original
 * layout: encoder.json (token -> id) and vocab.bpe (an optional "#version"
 * line, then one merge "a b" per line, highest priority first). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/tokenizer_files.h"

#if JANSSON_VERSION_HEX >= 0x020e00
#define ITER_KEY_LEN(it, key) json_object_iter_key_len(it)
#else
#define ITER_KEY_LEN(it, key) strlen(key)
#endif

static owl_status read_encoder(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) return owl_fail(err, OWL_ERR_INPUT, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    owl_status st = OWL_OK;
    if (!json_is_object(root)) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: encoder.json must be an object mapping tokens to ids", path);
        goto done;
    }
    if ((st = owl_vocab_reserve(m, json_object_size(root), 0, 1, path, err))) goto done;
    for (void *it = json_object_iter(root); it && !st; it = json_object_iter_next(root, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = ITER_KEY_LEN(it, key);
        json_t *v = json_object_iter_value(it);
        char q[96];
        if (!json_is_integer(v))
            st = owl_fail(err, OWL_ERR_INPUT, "%s: token %s has a non-integer id (expected an integer)", path,
                          owl_token_quote(q, sizeof q, key, klen));
        else if (json_integer_value(v) < 0)
            st = owl_fail(err, OWL_ERR_INPUT, "%s: token %s has a negative id %lld", path,
                          owl_token_quote(q, sizeof q, key, klen), (long long)json_integer_value(v));
        else
            st = owl_vocab_put(m, json_integer_value(v), key, klen, 1, "encoder.json", path, err);
    }
    if (!st) st = owl_vocab_seal(m, path, err);
done:
    json_decref(root);
    return st;
}

/* One line of vocab.bpe without its end-of-line bytes. */
typedef struct line_reader {
    const char *p, *end;
    uint64_t number;
} line_reader;

static int next_line(line_reader *r, owl_strview *line) {
    if (r->p >= r->end) return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *stop = nl ? nl : r->end;
    line->p = r->p;
    line->len = (size_t)(stop - r->p);
    if (line->len && line->p[line->len - 1] == '\r') line->len--;
    r->p = nl ? nl + 1 : r->end;
    r->number++;
    return 1;
}

/* The tokenizers library skips "#version" lines and wants exactly two parts per line. */
static owl_status read_merges(owl_model *m, const uint8_t *data, size_t size, const char *path, int fill,
                              uint64_t *count, owl_error *err) {
    uint64_t n = 0;
    *count = 0;
    if (!size) return OWL_OK; /* an empty file maps to NULL */
    line_reader r = {(const char *)data, (const char *)data + size, 0};
    owl_strview line;
    while (next_line(&r, &line)) {
        if (line.len >= 8 && memcmp(line.p, "#version", 8) == 0) continue;
        const char *sp = memchr(line.p, ' ', line.len);
        if (!sp || sp == line.p || sp == line.p + line.len - 1 ||
            memchr(sp + 1, ' ', line.len - (size_t)(sp - line.p) - 1)) {
            char q[96];
            return owl_fail(err, OWL_ERR_INPUT, "%s: line %llu is %s, expected two tokens separated by one space", path,
                            (unsigned long long)r.number, owl_token_quote(q, sizeof q, line.p, line.len));
        }
        if (fill) m->vocab.merges[n] = line;
        if (++n > OWL_MAX_MERGES)
            return owl_fail(err, OWL_ERR_INPUT, "%s: more than %u merges", path, OWL_MAX_MERGES);
    }
    *count = n;
    return OWL_OK;
}

static owl_status describe(owl_model *m, const char *encoder, size_t encoder_len, const char *encoder_path,
                           const uint8_t *merges, size_t merges_len, const char *merges_path, owl_error *err) {
    uint64_t n;
    owl_status st;
    if ((st = read_merges(m, merges, merges_len, merges_path, 0, &n, err)) ||
        (st = read_encoder(m, encoder, encoder_len, encoder_path, err)) ||
        (st = owl_vocab_reserve_merges(m, n, merges_path, err)) ||
        (st = read_merges(m, merges, merges_len, merges_path, 1, &n, err)))
        return st;
    m->vocab.n_merges = (size_t)n;
    owl_tokenizer_info *ti = &m->info.tokenizer;
    ti->kind = "gpt2";
    ti->n_vocab = (int64_t)m->vocab.n_tokens;
    ti->n_merges = (int64_t)n;
    owl_tokenizer_set_format(m, OWL_FORMAT_BPE_FILES);
    return OWL_OK;
}

owl_status owl_bpe_files_parse(owl_model *m, const char *encoder_json, size_t encoder_len, const uint8_t *merges,
                               size_t merges_len, const char *path, owl_error *err) {
    int file = owl_tokenizer_add_file(m, path, NULL, encoder_len, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    const char *p = m->files[file].path;
    return describe(m, encoder_json, encoder_len, p, merges, merges_len, p, err);
}

owl_status owl_bpe_files_load(owl_model *m, const char *encoder_path, const char *merges_path, owl_error *err) {
    char *text;
    size_t len;
    owl_mapped_file map;
    owl_status st = owl_read_small_file(encoder_path, OWL_MAX_JSON_BYTES, &text, &len, err);
    if (st) return st;
    int enc = owl_tokenizer_add_file(m, encoder_path, NULL, len, err);
    int mer = enc < 0 ? -1 : (st = owl_map_file(merges_path, &map, err)) ? -1 : owl_tokenizer_add_file(m, merges_path, &map, 0, err);
    if (enc < 0 || mer < 0) {
        free(text);
        return st ? st : err ? err->status : OWL_ERR_NOMEM;
    }
    m->info.tokenizer.source = m->files[enc].path;
    const owl_mapped_file *mf = &m->maps[mer];
    st = describe(m, text, len, m->files[enc].path, mf->data, (size_t)mf->size, m->files[mer].path, err);
    free(text);
    return st;
}
