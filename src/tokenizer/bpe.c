/* bpe.c: byte-level BPE as in GPT-2 and llama.cpp's llm_tokenizer_bpe: each
 * pre-token's bytes are spelled in GPT-2's printable byte alphabet, split into
 * characters, and the adjacent pair with the lowest merge rank (order in
 * tokenizer.ggml.merges; ties: the leftmost) is merged until none applies. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the
   other 68 are moved to U+0100.. in byte order. */
static int printable(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

/* The 68 bytes that are not printable: 0x00-0x20 (to U+0100..), 0x7F-0xA0 (U+0121..), 0xAD (U+0143). */
uint32_t tok_byte_to_cp(uint8_t b) {
    if (printable(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 289u + (b - 0x7Fu);
    return 323; /* 0xAD */
}

int tok_cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    if (cp <= 288) return (int)(cp - 256);
    if (cp <= 322) return (int)(0x7F + cp - 289);
    return cp == 323 ? 0xAD : -1;
}

typedef struct sym {
    int prev, next;
    size_t start, n;
} sym;

typedef struct bigram {
    int left, right;
    int32_t rank;
    size_t size;
} bigram;

typedef struct bpe_state {
    const owl_tokenizer *t;
    tok_ids *out;
    char *text; /* the current word in the byte alphabet */
    size_t text_cap;
    sym *syms;
    size_t syms_cap;
    bigram *heap;
    size_t heap_n, heap_cap;
} bpe_state;

static int before(const bigram *a, const bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(bpe_state *s, bigram b) {
    if (s->heap_n == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        bigram *p = realloc(s->heap, cap * sizeof *p);
        if (!p) return 0;
        s->heap = p;
        s->heap_cap = cap;
    }
    size_t i = s->heap_n++;
    while (i > 0 && before(&b, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = b;
    return 1;
}

static bigram heap_pop(bpe_state *s) {
    bigram top = s->heap[0], last = s->heap[--s->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_n) break;
        if (c + 1 < s->heap_n && before(&s->heap[c + 1], &s->heap[c])) c++;
        if (!before(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_n) s->heap[i] = last;
    return top;
}

static int try_add(bpe_state *s, int left, int right) {
    if (left < 0 || right < 0) return 1;
    const sym *l = &s->syms[left], *r = &s->syms[right];
    int32_t rank = tok_strmap_get_pair(&s->t->merges, s->text + l->start, l->n, s->text + r->start, r->n);
    if (rank < 0) return 1;
    return heap_push(s, (bigram){left, right, rank, l->n + r->n});
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static owl_status encode_word(void *ctx, const char *w, size_t n, owl_error *err) {
    bpe_state *s = ctx;
    const owl_tokenizer *t = s->t;
    if (!grow((void **)&s->text, &s->text_cap, 2 * n + 1, 1) || !grow((void **)&s->syms, &s->syms_cap, n + 1, sizeof *s->syms))
        return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += tok_utf8_encode(tok_byte_to_cp((uint8_t)w[i]), s->text + len);
    const char *text = s->text;
    int count = 0;
    if (t->ignore_merges && tok_find(t, text, len) >= 0) {
        s->syms[count++] = (sym){-1, -1, 0, len};
    } else {
        for (size_t off = 0; off < len;) {
            size_t k = tok_utf8_len((uint8_t)text[off]);
            s->syms[count] = (sym){count - 1, off + k == len ? -1 : count + 1, off, k};
            off += k;
            count++;
        }
    }
    s->heap_n = 0;
    for (int i = 1; i < count; i++)
        if (!try_add(s, i - 1, i)) goto oom;
    while (s->heap_n) {
        bigram b = heap_pop(s);
        sym *l = &s->syms[b.left], *r = &s->syms[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* outdated */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->syms[r->next].prev = b.left;
        if (!try_add(s, l->prev, b.left) || !try_add(s, b.left, l->next)) goto oom;
    }
    for (int i = count ? 0 : -1; i >= 0; i = s->syms[i].next) {
        const sym *y = &s->syms[i];
        int32_t id = tok_find(t, text + y->start, y->n);
        if (id >= 0) {
            if (!tok_ids_push(s->out, id)) goto oom;
            continue;
        }
        /* llama.cpp looks each byte of the spelling up as a one-byte token and
           drops those that are not; in a complete byte alphabet this never runs */
        for (size_t j = 0; j < y->n; j++) {
            int32_t b = tok_find(t, text + y->start + j, 1);
            if (b >= 0 && !tok_ids_push(s->out, b)) goto oom;
        }
    }
    return OWL_OK;
oom:
    return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
}

owl_status tok_bpe_encode(const owl_tokenizer *t, const char *s, size_t n, tok_ids *out, owl_error *err) {
    bpe_state st = {.t = t, .out = out};
    owl_status r = tok_pretok_split(t->pre, s, n, encode_word, &st, err);
    free(st.text);
    free(st.syms);
    free(st.heap);
    return r;
}
