/* tokenizer.c: building a tokenizer from a model's vocabulary: token texts,
 * scores and types copied into one allocation, the lookup tables, the
 * special-token defaults and attribute fix-ups llama.cpp applies at load
 * (llama-vocab.cpp, impl::load), and the choice of engine. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#define TOK_MAX_VOCAB (1u << 24)

/* GGUF token types (llama.cpp's llama_token_type) */
enum { TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4, TYPE_UNUSED = 5, TYPE_BYTE = 6 };

static uint8_t attr_of_type(int32_t type) {
    switch (type) {
    case TYPE_NORMAL: return TOK_ATTR_NORMAL;
    case TYPE_UNKNOWN: return TOK_ATTR_UNKNOWN;
    case TYPE_CONTROL: return TOK_ATTR_CONTROL;
    case TYPE_USER_DEFINED: return TOK_ATTR_USER_DEFINED;
    case TYPE_UNUSED: return TOK_ATTR_UNUSED;
    case TYPE_BYTE: return TOK_ATTR_BYTE;
    default: return TOK_ATTR_UNDEFINED;
    }
}

/* A token's text for an error message: printable, quoted, short. */
static const char *show(const char *s, size_t n, char *buf, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7F && c != '\\') buf[k++] = (char)c;
        else k += (size_t)snprintf(buf + k, cap - k, "\\x%02X", c);
    }
    if (k + 8 >= cap) memcpy(buf + k, "...", 3), k += 3;
    buf[k] = '\0';
    return buf;
}

static int64_t role_id(const owl_model *m, const char *role) {
    for (size_t i = 0; i < m->n_special; i++)
        if (!strcmp(m->special[i].role, role)) return m->special[i].id;
    return -1;
}

static int32_t in_vocab(const owl_tokenizer *t, int64_t id) { return id >= 0 && (uint64_t)id < t->n_vocab ? (int32_t)id : -1; }

static int gguf_bool(const owl_model *m, const char *key, int dflt) {
    int b;
    return m->gguf && owl_gguf_get_bool(m->gguf, key, &b) ? b : dflt;
}

/* Token texts llama.cpp treats as control tokens whatever their type says
   (end-of-generation and fill-in-the-middle markers). */
static const char *const control_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
    "[EOT]", "[EOS]", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "<end_of_utterance>", "<|eom_id|>",
    "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "</s>", "<eos>", "<turn|>", "<|tool_response>", "[e~[",
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
    "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
    "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};

static void fix_attributes(owl_tokenizer *t, const owl_model *m) {
    for (size_t i = 0; i < sizeof control_texts / sizeof control_texts[0]; i++) {
        int32_t id = tok_find(t, control_texts[i], strlen(control_texts[i]));
        if (id >= 0) t->attr[id] |= TOK_ATTR_CONTROL;
    }
    /* gpt-oss's channel markers are always rendered */
    static const char *const user[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
    for (size_t i = 0; i < 4; i++) {
        int32_t id = tok_find(t, user[i], strlen(user[i]));
        if (id >= 0) t->attr[id] = TOK_ATTR_USER_DEFINED;
    }
    /* Phi-3 strips whitespace after its special tokens (llama.cpp matches the model name) */
    char name[256] = "";
    if (m->info.name) {
        snprintf(name, sizeof name, "%s", m->info.name);
        for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    if (strstr(name, "phi-3") || strstr(name, "phi3")) {
        for (size_t i = 0; i < t->n_vocab; i++)
            if (t->attr[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) t->attr[i] |= TOK_ATTR_RSTRIP;
        int32_t id = tok_find(t, "</s>", 4);
        if (id >= 0) t->attr[id] |= TOK_ATTR_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (size_t i = 0; i < 3; i++)
            if ((id = tok_find(t, keep[i], strlen(keep[i]))) >= 0) t->attr[id] &= (uint8_t)~TOK_ATTR_RSTRIP;
    }
}

typedef struct by_len {
    uint32_t len;
    int32_t id;
} by_len;

static int longer_first(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static owl_status build_specials(owl_tokenizer *t, owl_error *err) {
    size_t n = 0;
    for (size_t i = 0; i < t->n_vocab; i++) n += (t->attr[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) != 0;
    t->special = malloc((n ? n : 1) * sizeof *t->special);
    t->special_by_first = malloc((n ? n : 1) * sizeof *t->special_by_first);
    if (!t->special || !t->special_by_first) return owl_fail(err, OWL_ERR_NOMEM, "out of memory for special tokens");
    by_len *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return owl_fail(err, OWL_ERR_NOMEM, "out of memory for special tokens");
    n = 0;
    for (size_t i = 0; i < t->n_vocab; i++)
        if (t->attr[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) order[n++] = (by_len){t->len[i], (int32_t)i};
    /* longest first, as llama.cpp's cache_special_tokens (ties by id, to be deterministic) */
    qsort(order, n, sizeof *order, longer_first);
    for (size_t i = 0; i < n; i++) t->special[i] = order[i].id;
    free(order);
    t->n_special = n;
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) count[(uint8_t)t->text[t->special[i]][0] + 1]++;
    for (int b = 0; b < 256; b++) count[b + 1] += count[b];
    memcpy(t->special_start, count, sizeof count);
    for (size_t i = 0; i < n; i++) t->special_by_first[count[(uint8_t)t->text[t->special[i]][0]]++] = t->special[i];
    return OWL_OK;
}

static owl_status copy_vocab(owl_tokenizer *t, const owl_vocab *v, const char *src, owl_error *err) {
    size_t n = v->n_tokens, bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += (v->tokens[i].len ? v->tokens[i].len : 32) + 1;
    t->blob = malloc(bytes ? bytes : 1);
    t->text = malloc(n * sizeof *t->text);
    t->len = malloc(n * sizeof *t->len);
    t->attr = malloc(n);
    if (v->scores) t->score = malloc(n * sizeof *t->score);
    if (!t->blob || !t->text || !t->len || !t->attr || (v->scores && !t->score) || !tok_strmap_init(&t->vocab, n))
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for a vocabulary of %zu tokens", src, n);
    char *p = t->blob;
    for (size_t i = 0; i < n; i++) {
        size_t len = v->tokens[i].len;
        if (len > UINT32_MAX / 2)
            return owl_fail(err, OWL_ERR_INPUT, "%s: token %zu is %zu bytes long", src, i, len);
        if (len) memcpy(p, v->tokens[i].p, len);
        else len = (size_t)sprintf(p, "[EMPTY_%zu]", i); /* as llama.cpp names empty tokens */
        p[len] = '\0';
        t->text[i] = p;
        t->len[i] = (uint32_t)len;
        p += len + 1;
        if (len > t->max_token_len) t->max_token_len = len;
        t->attr[i] = v->types ? attr_of_type(v->types[i]) : TOK_ATTR_NORMAL;
        if (v->strip && (v->strip[i] & OWL_STRIP_LEFT)) t->attr[i] |= TOK_ATTR_LSTRIP;
        if (v->strip && (v->strip[i] & OWL_STRIP_RIGHT)) t->attr[i] |= TOK_ATTR_RSTRIP;
        if (t->score) t->score[i] = v->scores[i];
        int32_t prev = tok_strmap_put(&t->vocab, t->text[i], len, (int32_t)i);
        if (prev >= 0) {
            char shown[96];
            return owl_fail(err, OWL_ERR_INPUT, "%s: duplicate token in vocabulary: '%s' has ids %d and %zu", src,
                            show(t->text[i], len, shown, sizeof shown), prev, i);
        }
    }
    return OWL_OK;
}

static owl_status copy_merges(owl_tokenizer *t, const owl_vocab *v, const char *src, owl_error *err) {
    size_t bytes = 0;
    for (size_t i = 0; i < v->n_merges; i++) bytes += v->merges[i].len;
    t->merge_blob = malloc(bytes ? bytes : 1);
    if (!t->merge_blob || !tok_strmap_init(&t->merges, v->n_merges))
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for %zu merges", src, v->n_merges);
    char *p = t->merge_blob;
    for (size_t i = 0; i < v->n_merges; i++) {
        owl_strview mv = v->merges[i];
        /* llama.cpp splits at the first space after the first byte; a merge
           without one can never match */
        if (mv.len < 3 || !memchr(mv.p + 1, ' ', mv.len - 1)) continue;
        if (i > INT32_MAX) break;
        memcpy(p, mv.p, mv.len);
        tok_strmap_put(&t->merges, p, mv.len, (int32_t)i); /* the first of duplicates keeps its rank */
        p += mv.len;
    }
    return OWL_OK;
}

owl_status owl_tokenizer_new(const owl_model *m, owl_tokenizer **out, owl_error *err) {
    if (!m || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_tokenizer_new: model and out must not be NULL");
    *out = NULL;
    const owl_model_info *in = &m->info;
    const char *src = in->tokenizer.source ? in->tokenizer.source : (m->n_files ? m->files[0].path : "model");
    const char *kind = in->tokenizer.kind ? in->tokenizer.kind : "none";
    tok_kind k;
    if (!strcmp(kind, "llama")) k = TOK_SPM;
    else if (!strcmp(kind, "gpt2")) k = TOK_BPE;
    else if (!strcmp(kind, "bert")) k = TOK_WPM;
    else if (!strcmp(kind, "t5") || !strcmp(kind, "rwkv") || !strcmp(kind, "plamo2"))
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: tokenizer model '%s' is not supported yet", src, kind);
    else if (!strcmp(kind, "none") || !strcmp(kind, "no_vocab"))
        return owl_fail(err, OWL_ERR_INPUT, "%s: the model carries no tokenizer", src);
    else return owl_fail(err, OWL_ERR_INPUT, "%s: unknown tokenizer model '%s' (tokenizer.ggml.model)", src, kind);
    const owl_vocab *v = &m->vocab;
    if (!v->n_tokens) return owl_fail(err, OWL_ERR_INPUT, "%s: the tokenizer has no tokens (tokenizer.ggml.tokens)", src);
    if (v->n_tokens > TOK_MAX_VOCAB)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %zu tokens is more than owl accepts (%u)", src, v->n_tokens, TOK_MAX_VOCAB);
    if (k == TOK_BPE && !v->n_merges)
        return owl_fail(err, OWL_ERR_INPUT, "%s: a byte-level BPE (gpt2) tokenizer needs merges, and tokenizer.ggml.merges is missing or empty", src);

    owl_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    t->kind = k;
    t->n_vocab = v->n_tokens;
    t->nfc = k == TOK_BPE && in->tokenizer.normalizer && !strcmp(in->tokenizer.normalizer, "NFC");
    owl_status st = copy_vocab(t, v, src, err);
    if (!st && (k == TOK_BPE || (k == TOK_SPM && v->from_tokenizer_json && v->n_merges))) st = copy_merges(t, v, src, err);
    if (!st && k == TOK_BPE) {
        st = tok_pretok_new(in->tokenizer.pre, &t->pre, &t->ignore_merges, err);
        if (st) owl_fail_prefix(err, "%s", src);
    }
    if (st) {
        owl_tokenizer_free(t);
        return st;
    }

    /* special ids: the model's, else llama.cpp's defaults per tokenizer kind */
    int64_t bos = role_id(m, "bos"), eos = role_id(m, "eos"), unk = role_id(m, "unk"), sep = role_id(m, "sep");
    if (k == TOK_SPM) {
        if (bos < 0) bos = 1;
        if (eos < 0) eos = 2;
        if (unk < 0) unk = 0;
    } else if (k == TOK_WPM) {
        if (bos < 0) bos = role_id(m, "cls");
        if (bos < 0) bos = 101;
        if (unk < 0) unk = 100;
        if (sep < 0) sep = 102;
    }
    t->bos = in_vocab(t, bos);
    t->eos = in_vocab(t, eos);
    t->unk = in_vocab(t, unk);
    t->sep = in_vocab(t, sep);
    const char *pre = in->tokenizer.pre ? in->tokenizer.pre : "";
    t->add_bos = k == TOK_SPM || k == TOK_WPM || (k == TOK_BPE && (t->ignore_merges || !strcmp(pre, "chameleon")));
    t->add_eos = 0;
    t->add_sep = k == TOK_WPM;
    if (in->tokenizer.add_bos >= 0) t->add_bos = in->tokenizer.add_bos;
    if (in->tokenizer.add_eos >= 0) t->add_eos = in->tokenizer.add_eos;
    t->add_sep = gguf_bool(m, "tokenizer.ggml.add_sep_token", t->add_sep);
    t->add_space_prefix = gguf_bool(m, "tokenizer.ggml.add_space_prefix", k == TOK_SPM);
    if (k == TOK_SPM && v->space_prefix >= 0) t->add_space_prefix = v->space_prefix;
    t->strip_first_space = t->add_space_prefix || k == TOK_WPM;
    if (k == TOK_SPM && v->strip_space >= 0) t->strip_first_space = v->strip_space;
    t->spm_split = k == TOK_SPM && v->split_metaspace;
    t->hf_decoder = v->from_tokenizer_json;
    t->lowercase = gguf_bool(m, "tokenizer.ggml.normalizer.lowercase", 1);
    t->strip_accents = gguf_bool(m, "tokenizer.ggml.normalizer.strip_accents", t->lowercase);
    if (k == TOK_WPM) {
        /* llama.cpp's converter writes word starts as U+2581 and drops "##" */
        size_t phantom = 0, hashes = 0;
        for (size_t i = 0; i < t->n_vocab; i++) {
            phantom += t->len[i] > 3 && !memcmp(t->text[i], "\xe2\x96\x81", 3);
            hashes += t->len[i] > 2 && !memcmp(t->text[i], "##", 2);
        }
        t->wpm_phantom = phantom >= hashes;
    }
    for (int b = 0; b < 256; b++) {
        char hex[8], raw = (char)b;
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        t->spm_byte_tok[b] = tok_find(t, hex, 6);
        if (t->spm_byte_tok[b] < 0) t->spm_byte_tok[b] = tok_find(t, &raw, 1);
    }
    if (!v->from_tokenizer_json) fix_attributes(t, m); /* a tokenizer.json's added_tokens say it all */
    if ((st = build_specials(t, err))) {
        owl_tokenizer_free(t);
        return st;
    }
    if (!tok_build_pieces(t)) {
        owl_tokenizer_free(t);
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for token pieces", src);
    }
    *out = t;
    return OWL_OK;
}

void owl_tokenizer_free(owl_tokenizer *t) {
    if (!t) return;
    free(t->blob);
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->attr);
    tok_strmap_free(&t->vocab);
    free(t->merge_blob);
    tok_strmap_free(&t->merges);
    tok_pretok_free(t->pre);
    free(t->special);
    free(t->special_by_first);
    free(t->piece_blob);
    free(t->piece_off);
    free(t->piece_len);
    free(t);
}

const char *owl_token_text(const owl_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || (size_t)id >= t->n_vocab) return NULL;
    if (len) *len = t->len[id];
    return t->text[id];
}

/* Texts of the control tokens that end a turn in the families owl runs. */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|END_OF_TURN_TOKEN|>", "<end_of_utterance>", "<|return|>", "<|call|>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "</s>", "<eos>",
};

int owl_token_is_eog(const owl_tokenizer *t, int32_t id) {
    if (!t || id < 0 || (size_t)id >= t->n_vocab) return 0;
    if (id == t->eos) return 1;
    if (!(t->attr[id] & TOK_ATTR_CONTROL)) return 0; /* ordinary text that happens to read "</s>" */
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++)
        if (t->len[id] == strlen(eog_texts[i]) && !memcmp(t->text[id], eog_texts[i], t->len[id])) return 1;
    return 0;
}

const char *owl_token_piece(const owl_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || (size_t)id >= t->n_vocab) return NULL;
    const char *p;
    size_t n;
    tok_piece(t, id, 0, &p, &n);
    if (len) *len = n;
    return p;
}
