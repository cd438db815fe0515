/* decode.c: ids back to text. Every token's piece is rendered once at
 * construction (U+2581 -> space for SentencePiece, <0xXX> -> the byte, the
 * GPT-2 byte alphabet -> bytes, WordPiece "##" joins); detokenizing is then
 * concatenation. The streaming form holds back an incomplete UTF-8 tail. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int put(sbuf *b, const void *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "<0xXX>" -> the byte, or -1 */
static int byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>' || hexval(s[3]) < 0 || hexval(s[4]) < 0) return -1;
    return hexval(s[3]) * 16 + hexval(s[4]);
}

static int render(const owl_tokenizer *t, int32_t id, sbuf *b) {
    const char *s = t->text[id];
    size_t n = t->len[id];
    uint8_t a = t->attr[id];
    /* llama.cpp writes added tokens as they are; a tokenizer.json's decoder
       (Replace U+2581 with a space) runs over every token, added ones too */
    int added = (a & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN | TOK_ATTR_USER_DEFINED)) != 0;
    if (added && !(t->hf_decoder && t->kind == TOK_SPM)) return put(b, s, n);
    if (a & TOK_ATTR_BYTE) {
        int v = byte_piece(s, n);
        if (v >= 0) {
            char c = (char)v;
            return put(b, &c, 1);
        }
        return put(b, s, n);
    }
    if (!(a & TOK_ATTR_NORMAL) && !added) return 1; /* unused and undefined tokens decode to nothing, as in llama.cpp */
    if (t->kind == TOK_BPE) {
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            size_t k = tok_utf8_decode(s + i, n - i, &cp);
            int byte = k ? tok_cp_to_byte(cp) : -1;
            if (byte >= 0) {
                char c = (char)byte;
                if (!put(b, &c, 1)) return 0;
            } else if (!put(b, s + i, k ? k : 1)) { /* not in the byte alphabet: kept as written */
                return 0;
            }
            i += k ? k : 1;
        }
        return 1;
    }
    if (t->kind == TOK_WPM && !t->wpm_phantom) {
        if (n >= 2 && !memcmp(s, "##", 2)) return put(b, s + 2, n - 2);
        return put(b, " ", 1) && put(b, s, n);
    }
    for (size_t i = 0; i < n;) { /* U+2581 stands for a space */
        if (n - i >= 3 && !memcmp(s + i, "\xe2\x96\x81", 3)) {
            if (!put(b, " ", 1)) return 0;
            i += 3;
        } else {
            if (!put(b, s + i, 1)) return 0;
            i++;
        }
    }
    return 1;
}

int tok_build_pieces(owl_tokenizer *t) {
    sbuf b = {0};
    t->piece_off = malloc(t->n_vocab * sizeof *t->piece_off);
    t->piece_len = malloc(t->n_vocab * sizeof *t->piece_len);
    if (!t->piece_off || !t->piece_len) return 0;
    for (size_t i = 0; i < t->n_vocab; i++) {
        t->piece_off[i] = b.n;
        if (!render(t, (int32_t)i, &b)) {
            free(b.p);
            return 0;
        }
        t->piece_len[i] = (uint32_t)(b.n - t->piece_off[i]);
    }
    if (!b.p && !put(&b, "", 0)) return 0;
    t->piece_blob = b.p;
    return 1;
}

void tok_piece(const owl_tokenizer *t, int32_t id, unsigned flags, const char **p, size_t *n) {
    *p = t->piece_blob + t->piece_off[id];
    *n = t->piece_len[id];
    if (!(flags & OWL_DETOKENIZE_SPECIAL) && (t->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN))) *n = 0;
}

static owl_status check_id(const owl_tokenizer *t, int32_t id, size_t pos, owl_error *err) {
    if (id < 0 || (size_t)id >= t->n_vocab)
        return owl_fail(err, OWL_ERR_INPUT, "detokenize: id %ld at position %zu is out of range (the vocabulary has %zu tokens: 0..%zu)",
                        (long)id, pos, t->n_vocab, t->n_vocab - 1);
    return OWL_OK;
}

/* Appends id's piece; the first non-empty piece loses the leading space the
   encoder added (SentencePiece's add_space_prefix, WordPiece word starts). */
static int append_piece(const owl_tokenizer *t, int32_t id, unsigned flags, int *strip, sbuf *b) {
    const char *p;
    size_t n;
    tok_piece(t, id, flags, &p, &n);
    if (!n) return 1;
    if (*strip && p[0] == ' ') p++, n--;
    *strip = 0;
    return put(b, p, n);
}

owl_status owl_detokenize(const owl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text, size_t *len,
                          owl_error *err) {
    if (!t || !text || !len || (!ids && n))
        return owl_fail(err, OWL_ERR_USAGE, "owl_detokenize: tokenizer, ids, text and len must not be NULL");
    *text = NULL;
    *len = 0;
    sbuf b = {0};
    int strip = t->strip_first_space;
    for (size_t i = 0; i < n; i++) {
        owl_status st = check_id(t, ids[i], i, err);
        if (st) {
            free(b.p);
            return st;
        }
        if (!append_piece(t, ids[i], flags, &strip, &b)) goto oom;
    }
    if (!b.p && !put(&b, "", 0)) goto oom;
    *text = b.p;
    *len = b.n;
    return OWL_OK;
oom:
    free(b.p);
    return owl_fail(err, OWL_ERR_NOMEM, "detokenize: out of memory");
}

struct owl_detok_stream {
    const owl_tokenizer *t;
    unsigned flags;
    int strip;
    size_t pos;
    char hold[4]; /* start of a UTF-8 sequence still missing bytes */
    size_t n_hold;
};

owl_detok_stream *owl_detok_stream_new(const owl_tokenizer *t, unsigned flags) {
    if (!t) return NULL;
    owl_detok_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    s->flags = flags;
    s->strip = t->strip_first_space;
    return s;
}

void owl_detok_stream_free(owl_detok_stream *s) { free(s); }

/* Bytes at the end of b that begin a valid UTF-8 sequence not yet complete. */
static size_t incomplete_tail(const char *p, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        uint8_t c = (uint8_t)p[n - k];
        if ((c & 0xC0) == 0x80) continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c < 0xC2 || c > 0xF4 || need <= k) return 0;
        /* the bytes so far must be able to grow into a valid sequence */
        uint8_t lo = 0x80, hi = 0xBF, c1 = (uint8_t)p[n - k + 1];
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
        else if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
        if (k >= 2 && (c1 < lo || c1 > hi)) return 0;
        return k;
    }
    return 0;
}

static owl_status emit(sbuf *b, size_t keep_from, char **out, size_t *len, owl_error *err) {
    char *r = malloc(keep_from + 1);
    if (!r) return owl_fail(err, OWL_ERR_NOMEM, "detokenize: out of memory");
    if (keep_from) memcpy(r, b->p, keep_from);
    r[keep_from] = '\0';
    *out = r;
    *len = keep_from;
    return OWL_OK;
}

owl_status owl_detok_stream_push(owl_detok_stream *s, int32_t id, char **out, size_t *len, owl_error *err) {
    if (!s || !out || !len) return owl_fail(err, OWL_ERR_USAGE, "owl_detok_stream_push: stream, out and len must not be NULL");
    *out = NULL;
    *len = 0;
    owl_status st = check_id(s->t, id, s->pos, err);
    if (st) return st;
    s->pos++;
    sbuf b = {0};
    if (!put(&b, s->hold, s->n_hold) || !append_piece(s->t, id, s->flags, &s->strip, &b)) {
        free(b.p);
        return owl_fail(err, OWL_ERR_NOMEM, "detokenize: out of memory");
    }
    size_t tail = incomplete_tail(b.p, b.n);
    st = emit(&b, b.n - tail, out, len, err);
    if (!st) {
        memcpy(s->hold, b.p + b.n - tail, tail);
        s->n_hold = tail;
    }
    free(b.p);
    return st;
}

owl_status owl_detok_stream_flush(owl_detok_stream *s, char **out, size_t *len, owl_error *err) {
    if (!s || !out || !len) return owl_fail(err, OWL_ERR_USAGE, "owl_detok_stream_flush: stream, out and len must not be NULL");
    sbuf b = {s->hold, s->n_hold, 0};
    owl_status st = emit(&b, s->n_hold, out, len, err);
    if (!st) s->n_hold = 0;
    return st;
}
