/* wpm.c: WordPiece for BERT-style vocabularies, as llama.cpp's
 * llm_tokenizer_wpm: BertNormalizer-like cleaning (NFD, lowercase, accents
 * stripped; Unicode data from utf8proc), words split at whitespace,
 * punctuation and CJK ideographs, then greedy longest-match pieces. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

static int is_whitespace(uint32_t c) { /* the Unicode White_Space property */
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* the ranges Hugging Face's BertPreTokenizer (and llama.cpp) call Chinese */
static int is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 1;
}

/* Greedy longest match over one word; the whole word becomes [UNK] if any part fails. */
static int encode_word(const owl_tokenizer *t, const char *w, size_t n, buf *scratch, tok_ids *out) {
    size_t mark = out->n;
    /* llama.cpp's converted vocabularies mark word starts with U+2581 instead
       of marking continuations with "##" */
    scratch->n = 0;
    if (t->wpm_phantom && !put(scratch, "\xe2\x96\x81", 3)) return 0;
    if (!put(scratch, w, n)) return 0;
    const char *s = scratch->p;
    size_t len = scratch->n;
    char cont[256 + 2];
    for (size_t i = 0; i < len;) {
        size_t j = len - i > t->max_token_len ? i + t->max_token_len : len;
        int32_t id = -1;
        for (; j > i; j--) {
            if (!t->wpm_phantom && i > 0) {
                if (j - i + 2 > sizeof cont) continue;
                memcpy(cont, "##", 2);
                memcpy(cont + 2, s + i, j - i);
                id = tok_find(t, cont, j - i + 2);
            } else {
                id = tok_find(t, s + i, j - i);
            }
            if (id >= 0) break;
        }
        if (id < 0) {
            out->n = mark;
            break;
        }
        if (!tok_ids_push(out, id)) return 0;
        i = j;
    }
    if (out->n == mark && !tok_ids_push(out, t->unk)) return 0;
    return 1;
}

owl_status tok_wpm_encode(const owl_tokenizer *t, const char *s, size_t n, tok_ids *out, owl_error *err) {
    buf word = {0}, scratch = {0};
    owl_status st = OWL_OK;
    for (size_t i = 0; i <= n;) {
        uint32_t c = 0xFFFD;
        size_t k = i < n ? tok_utf8_decode(s + i, n - i, &c) : 0;
        if (i < n && !k) k = 1; /* invalid byte: U+FFFD, which is dropped below */
        int end = i == n;
        i += k ? k : 1;
        utf8proc_int32_t dec[8];
        utf8proc_ssize_t nd = 1;
        dec[0] = (utf8proc_int32_t)c;
        if (!end && t->strip_accents) {
            int last = 0;
            nd = utf8proc_decompose_char((utf8proc_int32_t)c, dec, 8, UTF8PROC_DECOMPOSE, &last);
            if (nd < 1 || nd > 8) dec[0] = (utf8proc_int32_t)c, nd = 1;
        }
        for (utf8proc_ssize_t d = 0; d < (end ? 1 : nd); d++) {
            uint32_t cp = (uint32_t)dec[d];
            int boundary = end || is_whitespace(cp);
            if (boundary) {
                if (word.n && !encode_word(t, word.p, word.n, &scratch, out)) goto oom;
                word.n = 0;
                continue;
            }
            utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
            if (cp == 0 || cp == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS)
                continue;
            /* Hugging Face strips nonspacing marks only (llama.cpp: every mark) */
            if (t->strip_accents && cat == UTF8PROC_CATEGORY_MN) continue;
            if (t->lowercase) cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
            char u[4];
            size_t ul = tok_utf8_encode(cp, u);
            int punct = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
            int symbol = cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
            if (punct || (cp < 0x7F && symbol) || is_chinese(cp)) {
                if (word.n && !encode_word(t, word.p, word.n, &scratch, out)) goto oom;
                if (!encode_word(t, u, ul, &scratch, out)) goto oom;
                word.n = 0;
            } else if (!put(&word, u, ul)) {
                goto oom;
            }
        }
        if (end) break;
    }
    goto done;
oom:
    st = owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
done:
    free(word.p);
    free(scratch.p);
    return st;
}
