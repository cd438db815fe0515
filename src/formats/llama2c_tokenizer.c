/* llama2c_tokenizer.c: llama2.c's tokenizer .bin (written by tokenizer.py,
 * read by run.c build_tokenizer). Pieces are stored as llama.cpp's
 * llama2.c converter stores them, so the vocabulary equals the GGUF one. */
#include <string.h>

#include "core/error.h"
#include "formats/llama2c.h"
#include "formats/tokenizer_files.h"

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int32_t le_i32(const uint8_t *p) {
    uint32_t u = le32(p);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static float le_f32(const uint8_t *p) {
    uint32_t u = le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

owl_status owl_llama2c_tokenizer_scan(const uint8_t *data, uint64_t size, uint64_t n_tokens, uint64_t *count,
                                      const char *path, owl_error *err) {
    *count = 0;
    if (size < 4)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu bytes: too short for a llama2.c tokenizer (4-byte max_token_length first)",
                        path, (unsigned long long)size);
    int32_t max_len = le_i32(data);
    if (max_len < 1 || max_len > OWL_LLAMA2C_MAX_TOKEN_LEN)
        return owl_fail(err, OWL_ERR_INPUT, "%s: max_token_length %d is out of range (expected 1..%d)", path, max_len,
                        OWL_LLAMA2C_MAX_TOKEN_LEN);
    if (n_tokens > OWL_MAX_VOCAB)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu tokens, more than the %u owl accepts", path,
                        (unsigned long long)n_tokens, OWL_MAX_VOCAB);
    uint64_t off = 4, n = 0;
    while (n_tokens ? n < n_tokens : off < size) {
        if (n >= OWL_MAX_VOCAB)
            return owl_fail(err, OWL_ERR_INPUT, "%s: more than %u token records", path, OWL_MAX_VOCAB);
        if (size - off < 8)
            return owl_fail(err, OWL_ERR_INPUT,
                            "%s: byte %llu: token record %llu is truncated (score and length need 8 bytes, %llu left)",
                            path, (unsigned long long)off, (unsigned long long)n, (unsigned long long)(size - off));
        int32_t len = le_i32(data + off + 4);
        if (len < 0)
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: token record %llu has a negative length %d", path,
                            (unsigned long long)off, (unsigned long long)n, len);
        if (len == 0) /* run.c's fread of 0 bytes fails: llama2.c cannot read such a file */
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: token record %llu is empty", path, (unsigned long long)off,
                            (unsigned long long)n);
        if (len > max_len)
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: token record %llu is %d bytes long, more than max_token_length %d",
                            path, (unsigned long long)off, (unsigned long long)n, len, max_len);
        if ((uint64_t)len > size - off - 8)
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: token record %llu is truncated (%d bytes of text, %llu left)",
                            path, (unsigned long long)off, (unsigned long long)n, len,
                            (unsigned long long)(size - off - 8));
        off += 8 + (uint64_t)len;
        n++;
    }
    if (off != size)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu token records end at byte %llu, but the file has %llu bytes", path,
                        (unsigned long long)n, (unsigned long long)off, (unsigned long long)size);
    if (n == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: the tokenizer holds no tokens", path);
    *count = n;
    return OWL_OK;
}

/* tokenizer.py writes SentencePiece's "▁" as a space and wraps BOS/EOS in
   newlines for printing; undo both so the pieces read as SentencePiece's. */
static owl_status put_piece(owl_model *m, uint64_t id, const uint8_t *text, size_t len, const char *path,
                            owl_error *err) {
    const char *s = (const char *)text;
    if (id == 1 && len == 5 && memcmp(s, "\n<s>\n", 5) == 0)
        return owl_vocab_put(m, 1, "<s>", 3, 1, "bos", path, err);
    if (id == 2 && len == 6 && memcmp(s, "\n</s>\n", 6) == 0)
        return owl_vocab_put(m, 2, "</s>", 4, 1, "eos", path, err);
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += s[i] == ' ';
    if (!spaces) return owl_vocab_put(m, (int64_t)id, s, len, 0, "token record", path, err);
    size_t n = len + 2 * spaces; /* len <= 2^16: no overflow */
    char *p = owl_model_alloc(m, n + 1);
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for the vocabulary", path);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(p + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            p[k++] = s[i];
        }
    }
    return owl_vocab_put(m, (int64_t)id, p, n, 0, "token record", path, err);
}

owl_status owl_llama2c_tokenizer_fill(owl_model *m, const uint8_t *data, uint64_t count, const char *path,
                                      owl_error *err) {
    owl_status st = owl_vocab_reserve(m, count, 1, 1, path, err);
    if (st) return st;
    uint64_t off = 4;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len = le32(data + off + 4);
        const uint8_t *text = data + off + 8;
        m->vocab.scores[i] = le_f32(data + off);
        if ((st = put_piece(m, i, text, len, path, err))) return st;
        const owl_strview *t = &m->vocab.tokens[i];
        /* the types llama.cpp's convert-llama2c-to-ggml assigns */
        int32_t type = OWL_TOKEN_NORMAL;
        if (i == 0) type = OWL_TOKEN_UNKNOWN;
        else if (i == 1 || i == 2) type = OWL_TOKEN_CONTROL;
        else if (owl_token_is_byte(t->p, t->len)) type = OWL_TOKEN_BYTE;
        m->vocab.types[i] = type;
        off += 8 + len;
    }
    if ((st = owl_vocab_seal(m, path, err))) return st;
    /* The file names no special tokens: llama2.c's run.c hard-codes BOS = 1
       and EOS = 2 (SentencePiece's defaults, with UNK = 0), and its generate()
       prepends BOS and appends nothing. */
    static const struct { const char *role; int64_t id; } specials[] = {{"unk", 0}, {"bos", 1}, {"eos", 2}};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if ((uint64_t)specials[i].id < count && (st = owl_model_add_special(m, specials[i].role, specials[i].id, err)))
            return st;
    m->info.tokenizer.kind = "llama";
    m->info.tokenizer.add_bos = 1;
    m->info.tokenizer.add_eos = 0;
    m->info.tokenizer.n_vocab = (int64_t)m->vocab.n_tokens;
    return OWL_OK;
}

owl_status owl_llama2c_tokenizer_parse(owl_model *m, const uint8_t *data, uint64_t size, uint64_t n_tokens,
                                       const char *path, owl_error *err) {
    uint64_t count;
    owl_status st = owl_llama2c_tokenizer_scan(data, size, n_tokens, &count, path, err);
    if (st) return st;
    if (owl_tokenizer_add_file(m, path, NULL, size, err) < 0) return err ? err->status : OWL_ERR_NOMEM;
    if ((st = owl_llama2c_tokenizer_fill(m, data, count, path, err))) return st;
    owl_tokenizer_set_format(m, OWL_FORMAT_LLAMA2C_TOKENIZER);
    return OWL_OK;
}

owl_status owl_llama2c_tokenizer_load(owl_model *m, const char *path, owl_error *err) {
    owl_mapped_file map;
    uint64_t count;
    owl_status st = owl_map_file(path, &map, err);
    if (st) return st;
    if ((st = owl_llama2c_tokenizer_scan(map.data, map.size, 0, &count, path, err))) {
        owl_unmap_file(&map);
        return st;
    }
    int file = owl_tokenizer_add_file(m, path, &map, 0, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    if ((st = owl_llama2c_tokenizer_fill(m, m->maps[file].data, count, m->files[file].path, err))) return st;
    owl_tokenizer_set_format(m, OWL_FORMAT_LLAMA2C_TOKENIZER);
    return OWL_OK;
}
