/* tokenizer_json.c: Hugging Face tokenizer.json: vocabulary, merges, added
 * tokens and what the post-processor adds; for a tokenizer opened by itself,
 * also the tokenizer_config.json and config.json beside it. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/tokenizer_files.h"
#include "tokenizer/tokenizer.h"

#if JANSSON_VERSION_HEX >= 0x020e00
#define ITER_KEY_LEN(it, key) json_object_iter_key_len(it)
#else
#define ITER_KEY_LEN(it, key) strlen(key)
#endif

enum origin { FREE = 0, FROM_MODEL = 1, FROM_ADDED = 2 };

typedef struct tok_json {
    owl_model *m;
    const char *path;
    json_t *model;
    const char *type;  /* model.type: "BPE", "WordPiece", "Unigram" */
    uint8_t *origin;   /* per id: enum origin */
    int64_t n_added;
} tok_json;

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Older files leave model.type out; the tokenizers library then goes by the fields present. */
static const char *model_type(json_t *model) {
    json_t *t = json_object_get(model, "type");
    if (json_is_string(t)) return json_string_value(t);
    json_t *vocab = json_object_get(model, "vocab");
    if (json_is_array(vocab)) return "Unigram";
    if (json_object_get(model, "merges")) return "BPE";
    if (json_object_get(model, "max_input_chars_per_word")) return "WordPiece";
    return "WordLevel";
}

static owl_status fill_vocab_object(tok_json *t, json_t *vocab, owl_error *err) {
    char what[160], q[96];
    for (void *it = json_object_iter(vocab); it; it = json_object_iter_next(vocab, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = ITER_KEY_LEN(it, key);
        json_t *v = json_object_iter_value(it);
        if (!json_is_integer(v))
            return owl_fail(err, OWL_ERR_INPUT, "%s: model.vocab: token %s has %s for its id (expected an integer)", t->path,
                            owl_token_quote(q, sizeof q, key, len), json_type_name(v));
        json_int_t id = json_integer_value(v);
        if (id < 0)
            return owl_fail(err, OWL_ERR_INPUT, "%s: model.vocab: token %s has a negative id %lld", t->path,
                            owl_token_quote(q, sizeof q, key, len), (long long)id);
        snprintf(what, sizeof what, "model.vocab");
        owl_status st = owl_vocab_put(t->m, id, key, len, 1, what, t->path, err);
        if (st) return st;
        t->origin[id] = FROM_MODEL;
    }
    return OWL_OK;
}

/* Unigram: [[piece, score], ...], the id is the position. */
static owl_status fill_vocab_array(tok_json *t, json_t *vocab, owl_error *err) {
    size_t i;
    json_t *e;
    json_array_foreach(vocab, i, e) {
        json_t *piece = json_array_get(e, 0), *score = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(piece) || !json_is_number(score))
            return owl_fail(err, OWL_ERR_INPUT, "%s: model.vocab[%zu] must be a [piece, score] pair (found %s)", t->path,
                            i, json_type_name(e));
        owl_status st = owl_vocab_put(t->m, (int64_t)i, json_string_value(piece), json_string_length(piece), 1,
                                      "model.vocab", t->path, err);
        if (st) return st;
        double x = json_number_value(score); /* out-of-range double to float is undefined in C */
        t->m->vocab.scores[i] = x > FLT_MAX ? INFINITY : x < -FLT_MAX ? -INFINITY : (float)x;
        t->origin[i] = FROM_MODEL;
    }
    return OWL_OK;
}

static owl_status fill_added(tok_json *t, json_t *added, owl_error *err) {
    size_t i;
    json_t *a;
    char q[96], q2[96];
    json_array_foreach(added, i, a) {
        json_t *id_v = json_object_get(a, "id"), *content = json_object_get(a, "content");
        if (!json_is_object(a) || !json_is_integer(id_v) || !json_is_string(content))
            return owl_fail(err, OWL_ERR_INPUT, "%s: added_tokens[%zu] must be an object with an integer id and a string content",
                            t->path, i);
        json_int_t id = json_integer_value(id_v);
        const char *s = json_string_value(content);
        size_t len = json_string_length(content);
        if (id < 0)
            return owl_fail(err, OWL_ERR_INPUT, "%s: added_tokens[%zu]: token %s has a negative id %lld", t->path, i,
                            owl_token_quote(q, sizeof q, s, len), (long long)id);
        if (owl_vocab_has(t->m, id)) {
            const owl_strview *old = &t->m->vocab.tokens[id];
            if (old->len != len || memcmp(old->p, s, len) != 0)
                return owl_fail(err, OWL_ERR_INPUT, "%s: added_tokens[%zu]: token %s has id %lld, which %s gives to %s",
                                t->path, i, owl_token_quote(q, sizeof q, s, len), (long long)id,
                                t->origin[id] == FROM_MODEL ? "model.vocab" : "an earlier added token",
                                owl_token_quote(q2, sizeof q2, old->p, old->len));
        } else {
            char what[64];
            snprintf(what, sizeof what, "added_tokens[%zu]", i);
            owl_status st = owl_vocab_put(t->m, id, s, len, 1, what, t->path, err);
            if (st) return st;
            t->origin[id] = FROM_ADDED;
            t->n_added++;
        }
        if (t->m->vocab.strip)
            t->m->vocab.strip[id] = (uint8_t)((json_is_true(json_object_get(a, "lstrip")) ? OWL_STRIP_LEFT : 0) |
                                              (json_is_true(json_object_get(a, "rstrip")) ? OWL_STRIP_RIGHT : 0));
        /* as llama.cpp's converter types them */
        t->m->vocab.types[id] = json_is_true(json_object_get(a, "special")) ? OWL_TOKEN_CONTROL : OWL_TOKEN_USER_DEFINED;
    }
    return OWL_OK;
}

/* A space inside a pair would be ambiguous in the "a b" form; llama.cpp's
   converter writes it as U+0120 (byte-level BPE's space), and so does owl. */
static owl_status join_pair(owl_model *m, const char *a, size_t la, const char *b, size_t lb, owl_strview *out) {
    size_t spaces = 0;
    for (size_t i = 0; i < la; i++) spaces += a[i] == ' ';
    for (size_t i = 0; i < lb; i++) spaces += b[i] == ' ';
    size_t n = la + lb + 1 + spaces; /* each space grows to 2 bytes */
    char *p = owl_model_alloc(m, n + 1);
    if (!p) return OWL_ERR_NOMEM;
    size_t k = 0;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? b : a;
        size_t l = part ? lb : la;
        for (size_t i = 0; i < l; i++) {
            if (s[i] == ' ') {
                p[k++] = (char)0xc4;
                p[k++] = (char)0xa0;
            } else {
                p[k++] = s[i];
            }
        }
        if (!part) p[k++] = ' ';
    }
    *out = (owl_strview){p, n};
    return OWL_OK;
}

static owl_status fill_merges(tok_json *t, json_t *merges, owl_error *err) {
    if (!merges || json_is_null(merges)) return owl_vocab_reserve_merges(t->m, 0, t->path, err);
    if (!json_is_array(merges))
        return owl_fail(err, OWL_ERR_INPUT, "%s: model.merges must be an array (found %s)", t->path, json_type_name(merges));
    owl_status st = owl_vocab_reserve_merges(t->m, json_array_size(merges), t->path, err);
    if (st) return st;
    size_t i;
    json_t *e;
    json_array_foreach(merges, i, e) {
        owl_strview *out = &t->m->vocab.merges[i];
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            size_t len = json_string_length(e);
            const char *sp = memchr(s, ' ', len);
            if (!sp || sp == s || sp == s + len - 1 || memchr(sp + 1, ' ', len - (size_t)(sp - s) - 1)) {
                char q[96];
                return owl_fail(err, OWL_ERR_INPUT, "%s: model.merges[%zu] is %s, expected two tokens separated by one space",
                                t->path, i, owl_token_quote(q, sizeof q, s, len));
            }
            if (!(out->p = owl_model_strndup(t->m, s, len))) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
            out->len = len;
        } else {
            json_t *a = json_array_get(e, 0), *b = json_array_get(e, 1);
            if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(a) || !json_is_string(b) ||
                json_string_length(a) == 0 || json_string_length(b) == 0)
                return owl_fail(err, OWL_ERR_INPUT,
                                "%s: model.merges[%zu] must be a string \"a b\" or a pair [\"a\", \"b\"] (found %s)", t->path,
                                i, json_type_name(e));
            if (join_pair(t->m, json_string_value(a), json_string_length(a), json_string_value(b),
                          json_string_length(b), out))
                return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        }
        t->m->vocab.n_merges = i + 1;
    }
    return OWL_OK;
}

/* True if a pre-tokenizer or decoder (or a Sequence of them) is ByteLevel. */
static int has_byte_level(json_t *node, const char *list_key, int depth) {
    if (!json_is_object(node) || depth > 8) return 0;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (type && strcmp(type, "ByteLevel") == 0) return 1;
    json_t *list = json_object_get(node, list_key);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (has_byte_level(e, list_key, depth + 1)) return 1;
    }
    return 0;
}

/* The first node of the given type in a component or its Sequence list, or NULL. */
static json_t *find_node(json_t *node, const char *list_key, const char *type, int depth) {
    if (!json_is_object(node) || depth > 8) return NULL;
    const char *t = json_string_value(json_object_get(node, "type"));
    if (t && strcmp(t, type) == 0) return node;
    size_t i;
    json_t *e, *hit;
    json_array_foreach(json_object_get(node, list_key), i, e) {
        if ((hit = find_node(e, list_key, type, depth + 1))) return hit;
    }
    return NULL;
}

static int str_is(json_t *v, const char *want) { return json_is_string(v) && !strcmp(json_string_value(v), want); }

/* Metaspace's prepend: 1 always, 2 first, 0 never (prepend_scheme, or the
   older add_prefix_space, whose default was true). */
static int metaspace_prepend(json_t *ms) {
    const char *scheme = json_string_value(json_object_get(ms, "prepend_scheme"));
    if (scheme) return !strcmp(scheme, "always") ? 1 : !strcmp(scheme, "first") ? 2 : 0;
    json_t *add = json_object_get(ms, "add_prefix_space");
    return add && json_is_false(add) ? 0 : 1;
}

/* SentencePiece-style BPE: where the space prefix comes from and whether
   decoding takes it off again. Hugging Face spells this out as a Prepend
   normalizer or a Metaspace pre-tokenizer, and a Strip or Metaspace decoder. */
static void spm_spacing(owl_vocab *v, json_t *root) {
    json_t *norm = json_object_get(root, "normalizer"), *pre = json_object_get(root, "pre_tokenizer");
    json_t *dec = json_object_get(root, "decoder");
    json_t *prepend = find_node(norm, "normalizers", "Prepend", 0);
    json_t *ms = find_node(pre, "pretokenizers", "Metaspace", 0);
    v->space_prefix = 0;
    if (prepend && str_is(json_object_get(prepend, "prepend"), "\xe2\x96\x81")) v->space_prefix = 1;
    if (ms) {
        v->space_prefix = metaspace_prepend(ms);
        json_t *split = json_object_get(ms, "split");
        v->split_metaspace = !split || json_is_true(split);
    }
    v->strip_space = 0;
    json_t *strip = find_node(dec, "decoders", "Strip", 0), *dms = find_node(dec, "decoders", "Metaspace", 0);
    if (strip && json_integer_value(json_object_get(strip, "start")) > 0 &&
        str_is(json_object_get(strip, "content"), " "))
        v->strip_space = 1;
    if (dms && metaspace_prepend(dms)) v->strip_space = 1;
}

/* The pre-tokenizer's regexes in order: Split patterns with behavior Isolated (the
   only one owl's splitter implements) and NULL for a ByteLevel that uses its own
   regex. Returns -1 for anything else, so that no known name is claimed for it. */
static int collect_regexes(json_t *node, const char **rx, int n, int depth) {
    if (!json_is_object(node) || depth > 8 || n < 0) return -1;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return -1;
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(node, "pretokenizers"), i, e) {
            if ((n = collect_regexes(e, rx, n, depth + 1)) < 0) return -1;
        }
        return n;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        json_t *use = json_object_get(node, "use_regex");
        if (use && !json_is_boolean(use)) return -1;
        if (json_is_false(use)) return n;
        if (n >= 7) return -1;
        rx[n] = NULL;
        return n + 1;
    }
    if (strcmp(type, "Digits") == 0) { /* each digit, or each run of digits, a piece of its own */
        if (n >= 7) return -1;
        rx[n] = json_is_true(json_object_get(node, "individual_digits")) ? "\\p{N}" : "\\p{N}+";
        return n + 1;
    }
    if (strcmp(type, "Split") == 0) {
        const char *re = json_string_value(json_object_get(json_object_get(node, "pattern"), "Regex"));
        const char *behavior = json_string_value(json_object_get(node, "behavior"));
        /* Removed with invert keeps the matches and drops the text between them: the same
           pieces as Isolated for the full-coverage regexes models use (each ends in \s+) */
        int invert = json_is_true(json_object_get(node, "invert"));
        if (!re || !behavior || n >= 7 ||
            !((!invert && strcmp(behavior, "Isolated") == 0) || (invert && strcmp(behavior, "Removed") == 0)))
            return -1;
        rx[n] = re;
        return n + 1;
    }
    return -1;
}

static owl_status add_special_id(owl_model *m, const char *role, json_int_t id) {
    if (id < 0 || (uint64_t)id >= m->vocab.n_tokens) return OWL_OK; /* names no token: nothing to record */
    return owl_model_add_special(m, role, id, NULL) ? OWL_ERR_NOMEM : OWL_OK;
}

/* The id of a template's special token: its "ids" entry, else the vocabulary's. */
static json_int_t template_id(owl_model *m, json_t *specials, const char *name) {
    json_t *ids = json_object_get(json_object_get(specials, name), "ids");
    json_t *first = json_array_get(ids, 0);
    if (json_is_integer(first)) return json_integer_value(first);
    return owl_vocab_lookup(m, name, strlen(name));
}

/* What one post-processor adds around a single sequence ("$A"). */
static owl_status apply_processor(owl_model *m, json_t *pp, const char *first_role, const char *last_role, int depth) {
    owl_tokenizer_info *ti = &m->info.tokenizer;
    const char *type = json_string_value(json_object_get(pp, "type"));
    if (!type || depth > 4) return OWL_OK;
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        json_t *e;
        json_t *list = json_object_get(pp, "processors");
        json_array_foreach(list, i, e) {
            owl_status st = apply_processor(m, e, first_role, last_role, depth + 1);
            if (st) return st;
        }
        return OWL_OK;
    }
    if (strcmp(type, "TemplateProcessing") == 0) {
        json_t *single = json_object_get(pp, "single"), *specials = json_object_get(pp, "special_tokens");
        const char *first = NULL, *last = NULL;
        int seen_sequence = 0;
        size_t i;
        json_t *e;
        if (!json_is_array(single)) return OWL_OK;
        json_array_foreach(single, i, e) {
            const char *id = json_string_value(json_object_get(json_object_get(e, "SpecialToken"), "id"));
            if (json_object_get(e, "Sequence")) seen_sequence = 1;
            else if (id && !seen_sequence && !first) first = id;
            else if (id && seen_sequence) last = id;
        }
        ti->add_bos = first != NULL;
        ti->add_eos = last != NULL;
        owl_status st = OWL_OK;
        if (first) st = add_special_id(m, first_role, template_id(m, specials, first));
        if (!st && last) st = add_special_id(m, last_role, template_id(m, specials, last));
        return st;
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        /* "cls": ["[CLS]", 101], "sep": ["[SEP]", 102] */
        json_t *cls = json_array_get(json_object_get(pp, "cls"), 1), *sep = json_array_get(json_object_get(pp, "sep"), 1);
        ti->add_bos = ti->add_eos = 1;
        owl_status st = OWL_OK;
        if (json_is_integer(cls)) st = add_special_id(m, "cls", json_integer_value(cls));
        if (!st && json_is_integer(sep)) st = add_special_id(m, "sep", json_integer_value(sep));
        return st;
    }
    return OWL_OK; /* ByteLevel and the like add no tokens */
}

static owl_status post_processing(owl_model *m, json_t *pp, int bert) {
    owl_tokenizer_info *ti = &m->info.tokenizer;
    /* without a post-processor the library adds nothing */
    ti->add_bos = ti->add_eos = 0;
    if (!json_is_object(pp)) return OWL_OK;
    return apply_processor(m, pp, bert ? "cls" : "bos", bert ? "sep" : "eos", 0);
}

static owl_status unk_token(tok_json *t) {
    json_int_t id = -1;
    if (strcmp(t->type, "Unigram") == 0) {
        json_t *v = json_object_get(t->model, "unk_id");
        if (json_is_integer(v)) id = json_integer_value(v);
    } else {
        json_t *v = json_object_get(t->model, "unk_token");
        if (json_is_string(v)) id = owl_vocab_lookup(t->m, json_string_value(v), json_string_length(v));
    }
    if (id < 0 || (uint64_t)id >= t->m->vocab.n_tokens) return OWL_OK;
    if (t->m->vocab.types[id] == OWL_TOKEN_NORMAL) t->m->vocab.types[id] = OWL_TOKEN_UNKNOWN;
    return add_special_id(t->m, "unk", id);
}

static owl_status describe(owl_model *m, json_t *root, const char *path, owl_error *err) {
    if (!json_is_object(root))
        return owl_fail(err, OWL_ERR_INPUT, "%s: not a tokenizer.json (the top level is %s, not an object)", path,
                        json_type_name(root));
    tok_json t = {m, path, json_object_get(root, "model"), NULL, NULL, 0};
    if (!json_is_object(t.model))
        return owl_fail(err, OWL_ERR_INPUT, "%s: not a tokenizer.json (no \"model\" object)", path);
    t.type = model_type(t.model);
    int unigram = strcmp(t.type, "Unigram") == 0, bert = strcmp(t.type, "WordPiece") == 0;
    if (!unigram && !bert && strcmp(t.type, "BPE") != 0)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: %s tokenizers are not supported (owl reads BPE, WordPiece and Unigram)",
                        path, t.type);
    json_t *vocab = json_object_get(t.model, "vocab"), *added = json_object_get(root, "added_tokens");
    if (unigram ? !json_is_array(vocab) : !json_is_object(vocab))
        return owl_fail(err, OWL_ERR_INPUT, "%s: model.vocab must be %s for a %s model (found %s)", path,
                        unigram ? "an array of [piece, score]" : "an object mapping tokens to ids", t.type,
                        vocab ? json_type_name(vocab) : "nothing");
    if (added && !json_is_null(added) && !json_is_array(added))
        return owl_fail(err, OWL_ERR_INPUT, "%s: added_tokens must be an array (found %s)", path, json_type_name(added));
    /* every id must lie below the number of entries, or the ids cannot be gap-free */
    uint64_t cap = (unigram ? json_array_size(vocab) : json_object_size(vocab)) + json_array_size(added);
    int byte_level = !unigram && !bert && (has_byte_level(json_object_get(root, "pre_tokenizer"), "pretokenizers", 0) ||
                                           has_byte_level(json_object_get(root, "decoder"), "decoders", 0));
    /* SentencePiece-style BPE merges by score: scores come from the merge ranks below */
    owl_status st = owl_vocab_reserve(m, cap, unigram || (!bert && !byte_level), 1, path, err);
    if (st) return st;
    if (!(t.origin = calloc((size_t)cap, 1)) || !(m->vocab.strip = owl_model_alloc(m, (size_t)cap)))
        return free(t.origin), owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    st = unigram ? fill_vocab_array(&t, vocab, err) : fill_vocab_object(&t, vocab, err);
    if (!st && json_is_array(added)) st = fill_added(&t, added, err);
    free(t.origin);
    if (st || (st = owl_vocab_seal(m, path, err))) return st;
    owl_tokenizer_info *ti = &m->info.tokenizer;
    ti->kind = unigram ? "t5" : bert ? "bert" : byte_level ? "gpt2" : "llama";
    if (!unigram && !bert && (st = fill_merges(&t, json_object_get(t.model, "merges"), err))) return st;
    if (!unigram && !bert && !byte_level && m->vocab.scores) { /* merge i yields a token of score -i: earlier merges first */
        for (size_t i = 0; i < m->vocab.n_tokens; i++) m->vocab.scores[i] = -1e30f;
        tok_strmap ids; /* text -> id; a linear lookup per merge is quadratic on 262k vocabularies */
        if (!tok_strmap_init(&ids, m->vocab.n_tokens)) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < m->vocab.n_tokens; i++)
            if (m->vocab.tokens[i].p) tok_strmap_put(&ids, m->vocab.tokens[i].p, m->vocab.tokens[i].len, (int32_t)i);
        char buf[1024];
        for (size_t i = m->vocab.n_merges; i-- > 0;) {
            const owl_strview *mv = &m->vocab.merges[i];
            const char *sp = memchr(mv->p, ' ', mv->len);
            if (!sp || mv->len > sizeof buf) continue;
            size_t a = (size_t)(sp - mv->p), b = mv->len - a - 1;
            memcpy(buf, mv->p, a);
            memcpy(buf + a, sp + 1, b);
            int32_t id = tok_strmap_get(&ids, buf, a + b);
            if (id >= 0 && (uint64_t)id < m->vocab.n_tokens) m->vocab.scores[id] = -(float)i;
        }
        tok_strmap_free(&ids);
    }
    json_t *norm = json_object_get(root, "normalizer");
    if (byte_level && json_is_object(norm) && json_is_string(json_object_get(norm, "type")) &&
        !strcmp(json_string_value(json_object_get(norm, "type")), "NFC"))
        ti->normalizer = "NFC";
    if (byte_level) { /* name the pre-tokenizer whose regexes the file spells out */
        const char *rx[7];
        char name[64];
        int n = collect_regexes(json_object_get(root, "pre_tokenizer"), rx, 0, 0);
        int ignore = json_is_true(json_object_get(t.model, "ignore_merges"));
        if (n > 0 && tok_pretok_name_for(rx, n, ignore, name, sizeof name)) {
            if (!(ti->pre = owl_model_strdup(m, name))) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        } else if (n > 0) { /* no named one: the regexes themselves (see tok_pretok_new) */
            size_t len = 3;
            for (int i = 0; i < n; i++) len += (rx[i] ? strlen(rx[i]) : 0) + 1;
            if (len > 65536) return owl_fail(err, OWL_ERR_INPUT, "%s: pre_tokenizer: regexes longer than 64 KiB", path);
            char *spec = malloc(len);
            if (!spec) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
            size_t at = 0;
            spec[at++] = TOK_PRETOK_REGEXES;
            spec[at++] = ignore ? '1' : '0';
            for (int i = 0; i < n; i++) {
                if (i) spec[at++] = TOK_PRETOK_SEP;
                const char *r = rx[i] ? rx[i] : "";
                memcpy(spec + at, r, strlen(r));
                at += strlen(r);
            }
            spec[at] = '\0';
            ti->pre = owl_model_strdup(m, spec);
            free(spec);
            if (!ti->pre) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        }
    }
    m->vocab.from_tokenizer_json = 1;
    if (!unigram && !bert && !byte_level) spm_spacing(&m->vocab, root);
    if (!byte_level && json_is_true(json_object_get(t.model, "byte_fallback")))
        for (size_t i = 0; i < m->vocab.n_tokens; i++)
            if (m->vocab.types[i] == OWL_TOKEN_NORMAL && owl_token_is_byte(m->vocab.tokens[i].p, m->vocab.tokens[i].len))
                m->vocab.types[i] = OWL_TOKEN_BYTE;
    if (unk_token(&t) || post_processing(m, json_object_get(root, "post_processor"), bert))
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    ti->n_vocab = (int64_t)m->vocab.n_tokens;
    ti->n_merges = (int64_t)m->vocab.n_merges;
    ti->n_added = t.n_added;
    owl_tokenizer_set_format(m, OWL_FORMAT_TOKENIZER_JSON);
    return OWL_OK;
}

static owl_status parse_and_describe(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root)
        return owl_fail(err, OWL_ERR_INPUT, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    owl_status st = describe(m, root, path, err);
    json_decref(root);
    return st;
}

owl_status owl_tokenizer_json_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    int file = owl_tokenizer_add_file(m, path, NULL, len, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    return parse_and_describe(m, text, len, m->files[file].path, err);
}

/* ---- tokenizer_config.json and config.json beside a lone tokenizer.json ---- */

static char *sibling(const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("./");
    char *p = dir ? owl_path_join(dir, name) : NULL;
    free(dir);
    return p;
}

static int has_role(const owl_model *m, const char *role) {
    for (size_t i = 0; i < m->n_special; i++)
        if (strcmp(m->special[i].role, role) == 0) return 1;
    return 0;
}

/* Reads a small JSON object file and registers it; *out is NULL if the file is absent. */
static owl_status read_config(owl_model *m, const char *path, json_t **out, owl_error *err) {
    *out = NULL;
    if (!owl_path_exists(path)) return OWL_OK;
    char *text;
    size_t len;
    owl_status st = owl_read_small_file(path, OWL_MAX_CONFIG_BYTES, &text, &len, err);
    if (st) return st;
    json_error_t je;
    /* transformers writes model_max_length as 1e30 spelled as an integer,
       too big for jansson's integers: read numbers as doubles here */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    free(text);
    if (!root) return owl_fail(err, OWL_ERR_INPUT, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return owl_fail(err, OWL_ERR_INPUT, "%s: expected a JSON object", path);
    }
    if (owl_model_add_file(m, path, "config", NULL, len, err) < 0) {
        json_decref(root);
        return err ? err->status : OWL_ERR_NOMEM;
    }
    *out = root;
    return OWL_OK;
}

/* transformers' tokenizer_config.json: "bos_token": "<s>" or {"content": "<s>", ...} */
static owl_status tokenizer_config(owl_model *m, json_t *tc) {
    static const char *const keys[][2] = {{"bos_token", "bos"}, {"eos_token", "eos"}, {"unk_token", "unk"},
                                          {"pad_token", "pad"}, {"cls_token", "cls"}, {"sep_token", "sep"},
                                          {"mask_token", "mask"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(tc, keys[i][0]);
        if (json_is_object(v)) v = json_object_get(v, "content");
        if (!json_is_string(v)) continue;
        int64_t id = owl_vocab_lookup(m, json_string_value(v), json_string_length(v));
        if (id >= 0 && add_special_id(m, keys[i][1], id)) return OWL_ERR_NOMEM;
    }
    /* the chat template: a string, or named templates of which "default" (else the first) is the chat one */
    json_t *ct = json_object_get(tc, "chat_template");
    if (json_is_array(ct)) {
        json_t *pick = NULL, *item;
        size_t i;
        json_array_foreach(ct, i, item) {
            json_t *t = json_object_get(item, "template"), *name = json_object_get(item, "name");
            if (!json_is_string(t)) continue;
            if (!pick || (json_is_string(name) && !strcmp(json_string_value(name), "default"))) pick = t;
        }
        ct = pick;
    }
    if (json_is_string(ct) && !m->info.chat_template &&
        !(m->info.chat_template = owl_model_strndup(m, json_string_value(ct), json_string_length(ct))))
        return OWL_ERR_NOMEM;
    json_t *b = json_object_get(tc, "add_bos_token"), *e = json_object_get(tc, "add_eos_token");
    if (json_is_boolean(b)) m->info.tokenizer.add_bos = json_is_true(b);
    if (json_is_boolean(e)) m->info.tokenizer.add_eos = json_is_true(e);
    return OWL_OK;
}

/* config.json's *_token_id, for roles nothing else named (eos may be a list). */
static owl_status model_config(owl_model *m, json_t *cfg) {
    static const char *const keys[][2] = {{"bos_token_id", "bos"}, {"eos_token_id", "eos"}, {"pad_token_id", "pad"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(cfg, keys[i][0]);
        if (json_is_array(v)) v = json_array_get(v, 0);
        double id = json_number_value(v);
        if (!json_is_number(v) || id < 0 || id > INT32_MAX || id != (double)(int32_t)id || has_role(m, keys[i][1]))
            continue;
        if (add_special_id(m, keys[i][1], (json_int_t)id)) return OWL_ERR_NOMEM;
    }
    return OWL_OK;
}

static owl_status sibling_configs(owl_model *m, const char *path, owl_error *err) {
    /* chat_template.jinja (what transformers writes now) wins over tokenizer_config.json's field */
    char *jp = sibling(path, "chat_template.jinja");
    if (!jp) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    if (owl_path_exists(jp)) {
        char *text;
        size_t len;
        owl_status st = owl_read_small_file(jp, OWL_MAX_JSON_BYTES, &text, &len, err);
        free(jp);
        if (!st) {
            m->info.chat_template = owl_model_strndup(m, text, len);
            free(text);
            if (!m->info.chat_template) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        }
        if (st) return st;
    } else {
        free(jp);
    }
    static const char *const names[] = {"tokenizer_config.json", "config.json"};
    for (size_t i = 0; i < 2; i++) {
        char *p = sibling(path, names[i]);
        json_t *cfg;
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        owl_status st = read_config(m, p, &cfg, err);
        free(p);
        if (st) return st;
        if (!cfg) continue;
        st = i == 0 ? tokenizer_config(m, cfg) : model_config(m, cfg);
        json_decref(cfg);
        if (st) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    return OWL_OK;
}

owl_status owl_tokenizer_json_load(owl_model *m, const char *path, int alone, owl_error *err) {
    char *text;
    size_t len;
    owl_status st = owl_read_small_file(path, OWL_MAX_JSON_BYTES, &text, &len, err);
    if (st) return st;
    int file = owl_tokenizer_add_file(m, path, NULL, len, err);
    st = file < 0 ? (err ? err->status : OWL_ERR_NOMEM) : parse_and_describe(m, text, len, m->files[file].path, err);
    free(text);
    if (!st && alone) st = sibling_configs(m, path, err);
    return st;
}
