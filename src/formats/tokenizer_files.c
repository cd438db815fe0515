/* tokenizer_files.c: owl_load_tokenizer_file, which tells the tokenizer file
 * kinds apart (by directory contents, file name and first bytes), and the
 * vocabulary-building helpers every tokenizer reader shares. */
#define _POSIX_C_SOURCE 200809L
#include "formats/tokenizer_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/llama2c.h"

/* ---- vocabulary building ------------------------------------------------- */

owl_status owl_vocab_reserve(owl_model *m, uint64_t cap, int with_scores, int with_types, const char *path,
                             owl_error *err) {
    if (m->vocab.tokens)
        return owl_fail(err, OWL_ERR_USAGE, "%s: a vocabulary was already loaded from %s", path,
                        m->info.tokenizer.source ? m->info.tokenizer.source : "another file");
    if (cap == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: the tokenizer defines no tokens", path);
    if (cap > OWL_MAX_VOCAB)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu tokens, more than the %u owl accepts", path,
                        (unsigned long long)cap, OWL_MAX_VOCAB);
    m->vocab.tokens = calloc((size_t)cap, sizeof *m->vocab.tokens);
    if (with_scores) m->vocab.scores = calloc((size_t)cap, sizeof *m->vocab.scores);
    if (with_types) m->vocab.types = malloc((size_t)cap * sizeof *m->vocab.types);
    if (!m->vocab.tokens || (with_scores && !m->vocab.scores) || (with_types && !m->vocab.types))
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for %llu tokens", path, (unsigned long long)cap);
    if (with_types)
        for (uint64_t i = 0; i < cap; i++) m->vocab.types[i] = OWL_TOKEN_NORMAL;
    m->vocab.n_tokens = (size_t)cap; /* the reservation until owl_vocab_seal */
    return OWL_OK;
}

int owl_vocab_has(const owl_model *m, int64_t id) {
    return id >= 0 && (uint64_t)id < m->vocab.n_tokens && m->vocab.tokens[id].p != NULL;
}

owl_status owl_vocab_put(owl_model *m, int64_t id, const char *s, size_t len, int copy, const char *what,
                         const char *path, owl_error *err) {
    char q[96], q2[96];
    if (id < 0 || (uint64_t)id >= m->vocab.n_tokens)
        return owl_fail(err, OWL_ERR_INPUT,
                        "%s: %s: token %s has id %lld, but the file defines only %llu tokens, so ids must lie in 0..%llu "
                        "without gaps",
                        path, what, owl_token_quote(q, sizeof q, s, len), (long long)id,
                        (unsigned long long)m->vocab.n_tokens, (unsigned long long)m->vocab.n_tokens - 1);
    owl_strview *slot = &m->vocab.tokens[id];
    if (slot->p)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: tokens %s and %s both have id %lld", path, what,
                        owl_token_quote(q, sizeof q, slot->p, slot->len), owl_token_quote(q2, sizeof q2, s, len),
                        (long long)id);
    const char *p = s ? s : "";
    if (copy && !(p = owl_model_strndup(m, p, len)))
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for the vocabulary", path);
    *slot = (owl_strview){p, len};
    return OWL_OK;
}

owl_status owl_vocab_seal(owl_model *m, const char *path, owl_error *err) {
    size_t n = m->vocab.n_tokens;
    while (n > 0 && !m->vocab.tokens[n - 1].p) n--;
    if (n == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: the tokenizer defines no tokens", path);
    for (size_t i = 0; i < n; i++)
        if (!m->vocab.tokens[i].p)
            return owl_fail(err, OWL_ERR_INPUT,
                            "%s: id %zu has no token, but ids run up to %zu (a vocabulary must have no gaps)", path, i,
                            n - 1);
    m->vocab.n_tokens = n;
    return OWL_OK;
}

owl_status owl_vocab_reserve_merges(owl_model *m, uint64_t n, const char *path, owl_error *err) {
    if (n > OWL_MAX_MERGES)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %llu merges, more than the %u owl accepts", path,
                        (unsigned long long)n, OWL_MAX_MERGES);
    free(m->vocab.merges);
    m->vocab.n_merges = 0;
    m->vocab.merges = calloc(n ? (size_t)n : 1, sizeof *m->vocab.merges);
    if (!m->vocab.merges) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for %llu merges", path, (unsigned long long)n);
    return OWL_OK;
}

int64_t owl_vocab_lookup(const owl_model *m, const char *s, size_t len) {
    for (size_t i = 0; i < m->vocab.n_tokens; i++) {
        const owl_strview *t = &m->vocab.tokens[i];
        if (t->p && t->len == len && memcmp(t->p, s, len) == 0) return (int64_t)i;
    }
    return -1;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }

int owl_token_is_byte(const char *s, size_t len) {
    return len == 6 && memcmp(s, "<0x", 3) == 0 && is_hex(s[3]) && is_hex(s[4]) && s[5] == '>';
}

int owl_tokenizer_add_file(owl_model *m, const char *path, owl_mapped_file *map, uint64_t size, owl_error *err) {
    int file = owl_model_add_file(m, path, "tokenizer", map, size, err);
    if (file < 0) {
        if (map) owl_unmap_file(map); /* not taken over */
        return -1;
    }
    m->info.tokenizer.source = m->files[file].path;
    return file;
}

void owl_tokenizer_set_format(owl_model *m, owl_format format) {
    if (m->info.format == 0) m->info.format = format;
}

const char *owl_token_quote(char *buf, size_t cap, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    if (cap < 8) {
        if (cap) buf[0] = '\0';
        return buf;
    }
    buf[k++] = '"';
    for (size_t i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (k + 8 >= cap) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        } else {
            buf[k++] = (char)c;
        }
    }
    buf[k++] = '"';
    buf[k] = '\0';
    return buf;
}

/* ---- which kind of tokenizer file --------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The sibling `name` of path (same directory), as a new heap string. */
static char *sibling(const char *path, const char *name) {
    const char *base = base_name(path);
    size_t dir_len = (size_t)(base - path);
    char *dir = malloc(dir_len + 2);
    if (!dir) return NULL;
    if (dir_len) memcpy(dir, path, dir_len);
    else dir[dir_len++] = '.';
    dir[dir_len] = '\0';
    char *p = owl_path_join(dir, name);
    free(dir);
    return p;
}

/* First byte that is not JSON whitespace or a UTF-8 byte order mark. */
static int first_text_byte(const char *path) {
    unsigned char head[64];
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    size_t i = n >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf ? 3 : 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r')) i++;
    return i < n ? head[i] : -1;
}

static owl_status load_bpe_pair(owl_model *m, const char *path, const char *encoder_name, const char *merges_name,
                                owl_error *err) {
    char *enc = sibling(path, encoder_name), *merges = sibling(path, merges_name);
    owl_status st;
    if (!enc || !merges) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    else if (!owl_path_exists(enc) || !owl_path_exists(merges))
        st = owl_fail(err, OWL_ERR_INPUT, "%s: a byte-level BPE tokenizer needs both %s and %s in the same directory",
                      path, encoder_name, merges_name);
    else st = owl_bpe_files_load(m, enc, merges, err);
    free(enc);
    free(merges);
    return st;
}

static owl_status load_dir(owl_model *m, const char *dir, int alone, owl_error *err) {
    static const char *const names[] = {"tokenizer.json", "tokenizer.model"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = owl_path_join(dir, names[i]);
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        if (owl_path_exists(p)) {
            owl_status st = i == 0 ? owl_tokenizer_json_load(m, p, alone, err) : owl_sentencepiece_load(m, p, err);
            free(p);
            return st;
        }
        free(p);
    }
    char *enc = owl_path_join(dir, "encoder.json"), *merges = owl_path_join(dir, "vocab.bpe");
    owl_status st;
    if (!enc || !merges) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    else if (owl_path_exists(enc) && owl_path_exists(merges)) st = owl_bpe_files_load(m, enc, merges, err);
    else
        st = owl_fail(err, OWL_ERR_INPUT,
                      "%s: no tokenizer here (expected tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe)", dir);
    free(enc);
    free(merges);
    return st;
}

owl_status owl_load_tokenizer_file(owl_model *m, const char *path, owl_error *err) {
    /* A tokenizer opened by itself may take its special tokens from the
       tokenizer_config.json beside it; inside a model directory the
       directory's loader has already registered files and decides that. */
    int alone = m->n_files == 0;
    if (owl_path_is_dir(path)) return load_dir(m, path, alone, err);
    const char *base = base_name(path);
    if (strcmp(base, "vocab.bpe") == 0) return load_bpe_pair(m, path, "encoder.json", "vocab.bpe", err);
    if (ends_with(base, "encoder.json")) return load_bpe_pair(m, path, base, "vocab.bpe", err);
    if (first_text_byte(path) == '{') return owl_tokenizer_json_load(m, path, alone, err);
    if (ends_with(base, ".json"))
        return owl_fail(err, OWL_ERR_INPUT, "%s: not a tokenizer.json (the file does not hold a JSON object)", path);
    if (ends_with(base, ".bin")) return owl_llama2c_tokenizer_load(m, path, err);
    return owl_sentencepiece_load(m, path, err);
}
