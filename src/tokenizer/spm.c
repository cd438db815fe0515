/* spm.c: SentencePiece-style BPE as llama.cpp's llm_tokenizer_spm runs it:
 * one symbol per UTF-8 character, then repeatedly merge the adjacent pair
 * whose concatenation is the vocabulary token of highest score (ties: the
 * leftmost), and spell whatever is left over with byte tokens <0xXX>.
 * A tokenizer.json brings merges instead of scores: then the pair of lowest
 * merge rank goes first, as in Hugging Face's BPE with byte_fallback. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

typedef struct sym {
    int prev, next;
    size_t start, n;
} sym;

typedef struct bigram {
    int left, right;
    float score;
    size_t size;
} bigram;

typedef struct heap {
    bigram *p;
    size_t n, cap;
} heap;

/* a comes out before b: higher score, then the leftmost */
static int before(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int heap_push(heap *h, bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bigram *p = realloc(h->p, cap * sizeof *p);
        if (!p) return 0;
        h->p = p;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && before(&b, &h->p[(i - 1) / 2])) {
        h->p[i] = h->p[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->p[i] = b;
    return 1;
}

static bigram heap_pop(heap *h) {
    bigram top = h->p[0], last = h->p[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->p[c + 1], &h->p[c])) c++;
        if (!before(&h->p[c], &last)) break;
        h->p[i] = h->p[c];
        i = c;
    }
    if (h->n) h->p[i] = last;
    return top;
}

static int try_add(const owl_tokenizer *t, const char *text, const sym *s, int left, int right, heap *h) {
    if (left < 0 || right < 0) return 1;
    const sym *l = &s[left], *r = &s[right];
    /* Metaspace split: every U+2581 starts a word, and merges stay inside words */
    if (t->spm_split && r->n >= 3 && !memcmp(text + r->start, "\xe2\x96\x81", 3)) return 1;
    size_t n = l->n + r->n;
    int32_t id = tok_find(t, text + l->start, n);
    if (id < 0) return 1;
    float score = t->score ? t->score[id] : 0.0f;
    if (t->merges.n) { /* tokenizer.json: the pair's merge rank decides, as in Hugging Face's BPE */
        int32_t rank = tok_strmap_get_pair(&t->merges, text + l->start, l->n, text + r->start, r->n);
        if (rank < 0) return 1;
        score = -(float)rank; /* exact: ranks stay below 2^24 (OWL_MAX_MERGES) */
    }
    return heap_push(h, (bigram){left, right, score, n});
}

owl_status tok_spm_encode(const owl_tokenizer *t, const char *s, size_t n, int prefix_space, tok_ids *out, owl_error *err) {
    /* whitespace escaped to U+2581, at most 3 bytes per input byte */
    size_t cap = 3 * n + 3;
    char *text = malloc(cap);
    /* one symbol per byte at worst: a truncated sequence before an escaped
       space takes part of U+2581 and leaves its other bytes alone */
    sym *syms = malloc(cap * sizeof *syms);
    heap h = {0};
    owl_status st = OWL_OK;
    if (!text || !syms) {
        st = owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory for %zu bytes of text", n);
        goto done;
    }
    size_t len = 0;
    if (prefix_space) memcpy(text, "\xe2\x96\x81", 3), len = 3;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') memcpy(text + len, "\xe2\x96\x81", 3), len += 3;
        else text[len++] = s[i];
    }
    int count = 0;
    for (size_t off = 0; off < len;) {
        size_t k = tok_utf8_len((uint8_t)text[off]);
        if (k > len - off) k = len - off;
        syms[count] = (sym){count - 1, off + k == len ? -1 : count + 1, off, k};
        off += k;
        count++;
    }
    for (int i = 1; i < count; i++)
        if (!try_add(t, text, syms, i - 1, i, &h)) goto oom;
    while (h.n) {
        bigram b = heap_pop(&h);
        sym *l = &syms[b.left], *r = &syms[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) syms[r->next].prev = b.left;
        if (!try_add(t, text, syms, l->prev, b.left, &h) || !try_add(t, text, syms, b.left, l->next, &h)) goto oom;
    }
    /* A merged symbol is always a vocabulary token (pairs are only queued when
       they are one), so llama.cpp's resegment never recurses: what is not a
       token is a single character, spelled in bytes. */
    for (int i = count ? 0 : -1; i >= 0; i = syms[i].next) {
        int32_t id = tok_find(t, text + syms[i].start, syms[i].n);
        if (id >= 0) {
            if (!tok_ids_push(out, id)) goto oom;
            continue;
        }
        for (size_t j = 0; j < syms[i].n; j++) {
            int32_t b = t->spm_byte_tok[(uint8_t)text[syms[i].start + j]];
            if (b < 0) b = t->unk;
            if (b < 0) {
                st = owl_fail(err, OWL_ERR_INPUT, "tokenize: byte 0x%02X has no token (no <0x%02X> and no unknown token)",
                              (uint8_t)text[syms[i].start + j], (uint8_t)text[syms[i].start + j]);
                goto done;
            }
            if (!tok_ids_push(out, b)) goto oom;
        }
    }
    goto done;
oom:
    st = owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
done:
    free(text);
    free(syms);
    free(h.p);
    return st;
}
