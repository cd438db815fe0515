/* encode.c: owl_tokenize. Special-token text is cut out of the input first
 * (llama.cpp's tokenizer_st_partition: longer special tokens first, each
 * taking its left-to-right occurrences in the text still unclaimed), then
 * each remaining fragment goes to the engine, and BOS/EOS are added. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

typedef struct frag {
    size_t start, len;
    int32_t id; /* -1: raw text */
} frag;

typedef struct frags {
    frag *p;
    size_t n, cap;
} frags;

static int frag_add(frags *v, size_t start, size_t len, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        frag *p = realloc(v->p, cap * sizeof *p);
        if (!p) return 0;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = (frag){start, len, id};
    return 1;
}

static int c_isspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int eligible(const owl_tokenizer *t, int32_t id, int parse_special) {
    /* user-defined tokens are split out even when special text is not parsed,
       as Hugging Face does with added tokens */
    return parse_special || !(t->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN));
}

/* Marks which special tokens occur at all, so the partition below only
   searches for those (vocabularies carry thousands of added tokens). */
static int find_present(const owl_tokenizer *t, const char *s, size_t n, int parse_special, uint8_t *present) {
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        for (size_t k = t->special_start[c]; k < t->special_start[c + 1]; k++) {
            int32_t id = t->special_by_first[k];
            if (present[id] || t->len[id] > n - i || !eligible(t, id, parse_special)) continue;
            if (!memcmp(s + i, t->text[id], t->len[id])) present[id] = 1, any = 1;
        }
    }
    return any;
}

static owl_status partition(const owl_tokenizer *t, const char *s, size_t n, int parse_special, frags *out, owl_error *err) {
    out->n = 0;
    if (!n) return OWL_OK;
    if (!frag_add(out, 0, n, -1)) goto oom;
    if (!t->n_special) return OWL_OK;
    uint8_t *present = calloc(t->n_vocab, 1);
    if (!present) goto oom;
    frags next = {0};
    if (find_present(t, s, n, parse_special, present)) {
        for (size_t k = 0; k < t->n_special; k++) {
            int32_t id = t->special[k];
            if (!present[id]) continue;
            const char *tx = t->text[id];
            size_t tl = t->len[id];
            next.n = 0;
            for (size_t f = 0; f < out->n; f++) {
                frag fr = out->p[f];
                if (fr.id >= 0) {
                    if (!frag_add(&next, fr.start, fr.len, fr.id)) goto oom2;
                    continue;
                }
                size_t at = fr.start, end = fr.start + fr.len;
                for (;;) {
                    const char *hit = end - at >= tl ? memmem(s + at, end - at, tx, tl) : NULL;
                    if (!hit) {
                        if (end > at && !frag_add(&next, at, end - at, -1)) goto oom2;
                        break;
                    }
                    size_t m = (size_t)(hit - s), left = m - at;
                    if (t->attr[id] & TOK_ATTR_LSTRIP)
                        while (left > 0 && c_isspace(s[at + left - 1])) left--;
                    if (left && !frag_add(&next, at, left, -1)) goto oom2;
                    if (!frag_add(&next, m, tl, id)) goto oom2;
                    at = m + tl;
                    if (t->attr[id] & TOK_ATTR_RSTRIP)
                        while (at < end && c_isspace(s[at])) at++;
                    if (at >= end) break;
                }
            }
            /* drop empty text fragments */
            size_t w = 0;
            for (size_t f = 0; f < next.n; f++)
                if (next.p[f].id >= 0 || next.p[f].len) next.p[w++] = next.p[f];
            next.n = w;
            frags tmp = *out;
            *out = next;
            next = tmp;
        }
    }
    free(next.p);
    free(present);
    return OWL_OK;
oom2:
    free(next.p);
    free(present);
oom:
    return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
}

owl_status owl_tokenize(const owl_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n_ids,
                        owl_error *err) {
    if (!t || !ids || !n_ids || (!text && len))
        return owl_fail(err, OWL_ERR_USAGE, "owl_tokenize: tokenizer, text, ids and n_ids must not be NULL");
    *ids = NULL;
    *n_ids = 0;
    if (len > TOK_MAX_INPUT)
        return owl_fail(err, OWL_ERR_NOMEM, "tokenize: input of %zu bytes is larger than the limit of %u bytes", len, TOK_MAX_INPUT);
    int add_special = (flags & OWL_TOKENIZE_ADD_SPECIAL) != 0;
    tok_ids out = {0};
    frags fr = {0};
    owl_status st = partition(t, text, len, (flags & OWL_TOKENIZE_PARSE_SPECIAL) != 0, &fr, err);
    if (st) goto done;
    if (add_special && t->add_bos) {
        if (t->bos < 0) {
            st = owl_fail(err, OWL_ERR_INPUT, "tokenize: the model asks for a BOS token but names none");
            goto done;
        }
        if (!tok_ids_push(&out, t->bos)) goto oom;
    }
    int prev_special = 1; /* SentencePiece: a fragment at the start or after a special token gets the space prefix */
    for (size_t i = 0; i < fr.n && !st; i++) {
        const frag *f = &fr.p[i];
        if (f->id >= 0) {
            if (!tok_ids_push(&out, f->id)) goto oom;
            prev_special = 1;
            continue;
        }
        switch (t->kind) {
        case TOK_SPM: {
            int prefix = t->add_space_prefix == 1 ? prev_special : t->add_space_prefix == 2 && f->start == 0;
            st = tok_spm_encode(t, text + f->start, f->len, prefix, &out, err);
            break;
        }
        case TOK_BPE: {
            utf8proc_uint8_t *nfc = NULL; /* the NFC normalizer; text that is not UTF-8 goes as it is */
            utf8proc_ssize_t nn = t->nfc ? utf8proc_map((const utf8proc_uint8_t *)text + f->start, (utf8proc_ssize_t)f->len, &nfc,
                                                        UTF8PROC_STABLE | UTF8PROC_COMPOSE) : -1;
            if (nn >= 0) st = tok_bpe_encode(t, (const char *)nfc, (size_t)nn, &out, err);
            else st = tok_bpe_encode(t, text + f->start, f->len, &out, err);
            free(nfc);
            break;
        }
        case TOK_WPM: st = tok_wpm_encode(t, text + f->start, f->len, &out, err); break;
        default: st = owl_fail(err, OWL_ERR_UNSUPPORTED, "tokenize: this tokenizer kind is not supported"); break;
        }
        prev_special = 0;
    }
    if (st) goto done;
    if (add_special && t->kind == TOK_WPM && t->add_sep) {
        if (t->sep < 0) {
            st = owl_fail(err, OWL_ERR_INPUT, "tokenize: the model asks for a SEP token but names none");
            goto done;
        }
        if (!tok_ids_push(&out, t->sep)) goto oom;
    } else if (add_special && t->add_eos) {
        if (t->eos < 0) {
            st = owl_fail(err, OWL_ERR_INPUT, "tokenize: the model asks for an EOS token but names none");
            goto done;
        }
        if (!tok_ids_push(&out, t->eos)) goto oom;
    }
    if (!out.p && !(out.p = malloc(sizeof *out.p))) goto oom; /* callers get a pointer they can free */
    *ids = out.p;
    *n_ids = out.n;
    out.p = NULL;
    goto done;
oom:
    st = owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
done:
    free(out.p);
    free(fr.p);
    return st;
}
