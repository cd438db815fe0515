/* sentencepiece_model.c: SentencePiece .model files (a ModelProto; field
 * numbers are sentencepiece_model.proto's): pieces, scores and types point
 * into the file; trainer and normalizer settings go to the metadata. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json_util.h"
#include "formats/protobuf.h"
#include "formats/tokenizer_files.h"

enum { MODEL_UNIGRAM = 1, MODEL_BPE = 2, MODEL_WORD = 3, MODEL_CHAR = 4 };

/* Defaults are the .proto's: a field that is absent has these values. */
typedef struct trainer_spec {
    int32_t model_type, vocab_size, unk_id, bos_id, eos_id, pad_id;
    int byte_fallback, whitespace_suffix, has_vocab_size;
} trainer_spec;

typedef struct normalizer_spec {
    owl_strview name;
    size_t charsmap_bytes;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, present;
} normalizer_spec;

static owl_status read_trainer(const owl_pb_reader *top, const owl_pb_field *msg, trainer_spec *t, owl_error *err) {
    owl_pb_reader r;
    owl_pb_field f;
    owl_status st = owl_pb_enter(top, msg, &r, err);
    if (st) return st;
    int more;
    while ((more = owl_pb_next(&r, &f, err)) > 0) {
        static const char *const id_names[] = {"trainer_spec.unk_id", "trainer_spec.bos_id", "trainer_spec.eos_id",
                                               "trainer_spec.pad_id"};
        int32_t *ids[] = {&t->unk_id, &t->bos_id, &t->eos_id, &t->pad_id};
        switch (f.number) {
        case 3:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, "trainer_spec.model_type", err))) return st;
            t->model_type = owl_pb_int32(f.value);
            break;
        case 4:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, "trainer_spec.vocab_size", err))) return st;
            t->vocab_size = owl_pb_int32(f.value);
            t->has_vocab_size = 1;
            break;
        case 24:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, "trainer_spec.treat_whitespace_as_suffix", err))) return st;
            t->whitespace_suffix = f.value != 0;
            break;
        case 35:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, "trainer_spec.byte_fallback", err))) return st;
            t->byte_fallback = f.value != 0;
            break;
        case 40: case 41: case 42: case 43:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, id_names[f.number - 40], err))) return st;
            *ids[f.number - 40] = owl_pb_int32(f.value);
            break;
        default: break; /* training parameters owl has no use for */
        }
    }
    return more < 0 ? (err ? err->status : OWL_ERR_INPUT) : OWL_OK;
}

static owl_status read_normalizer(const owl_pb_reader *top, const owl_pb_field *msg, normalizer_spec *n,
                                  owl_error *err) {
    owl_pb_reader r;
    owl_pb_field f;
    owl_status st = owl_pb_enter(top, msg, &r, err);
    if (st) return st;
    n->present = 1;
    int more;
    while ((more = owl_pb_next(&r, &f, err)) > 0) {
        static const char *const flag_names[] = {"normalizer_spec.add_dummy_prefix",
                                                 "normalizer_spec.remove_extra_whitespaces",
                                                 "normalizer_spec.escape_whitespaces"};
        int *flags[] = {&n->add_dummy_prefix, &n->remove_extra_whitespaces, &n->escape_whitespaces};
        switch (f.number) {
        case 1:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_LEN, "normalizer_spec.name", err))) return st;
            n->name = (owl_strview){(const char *)f.data, f.len};
            break;
        case 2:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_LEN, "normalizer_spec.precompiled_charsmap", err))) return st;
            n->charsmap_bytes = f.len;
            break;
        case 3: case 4: case 5:
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, flag_names[f.number - 3], err))) return st;
            *flags[f.number - 3] = f.value != 0;
            break;
        default: break;
        }
    }
    return more < 0 ? (err ? err->status : OWL_ERR_INPUT) : OWL_OK;
}

/* One SentencePiece message: piece (1), score (2), type (3). */
static owl_status read_piece(owl_model *m, const owl_pb_reader *top, const owl_pb_field *msg, size_t id,
                             owl_error *err) {
    owl_pb_reader r;
    owl_pb_field f;
    owl_status st = owl_pb_enter(top, msg, &r, err);
    if (st) return st;
    owl_strview piece = {NULL, 0};
    float score = 0;
    int32_t type = OWL_TOKEN_NORMAL;
    int more;
    while ((more = owl_pb_next(&r, &f, err)) > 0) {
        if (f.number == 1) {
            if ((st = owl_pb_expect(&r, &f, OWL_PB_LEN, "piece", err))) return st;
            piece = (owl_strview){(const char *)f.data, f.len};
        } else if (f.number == 2) {
            if ((st = owl_pb_expect(&r, &f, OWL_PB_I32, "score", err))) return st;
            score = owl_pb_float(f.value);
        } else if (f.number == 3) {
            if ((st = owl_pb_expect(&r, &f, OWL_PB_VARINT, "type", err))) return st;
            if (f.value < OWL_TOKEN_NORMAL || f.value > OWL_TOKEN_BYTE)
                return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: piece %zu has type %llu (expected 1..6)", r.path,
                                (unsigned long long)f.offset, id, (unsigned long long)f.value);
            type = (int32_t)f.value;
        }
    }
    if (more < 0) return err ? err->status : OWL_ERR_INPUT;
    if (!piece.p || piece.len == 0) /* SentencePiece refuses these too */
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: piece %zu is empty", r.path,
                        (unsigned long long)msg->offset, id);
    m->vocab.scores[id] = score;
    m->vocab.types[id] = type;
    return owl_vocab_put(m, (int64_t)id, piece.p, piece.len, 0, "piece", r.path, err);
}

typedef struct piece_ref {
    owl_strview s;
    size_t id;
} piece_ref;

static int by_piece(const void *a, const void *b) {
    const owl_strview *x = &((const piece_ref *)a)->s, *y = &((const piece_ref *)b)->s;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* SentencePiece keys pieces by text, so a repeated piece is an error there. */
static owl_status check_unique(const owl_model *m, const char *path, owl_error *err) {
    size_t n = m->vocab.n_tokens;
    piece_ref *refs = malloc(n * sizeof *refs);
    if (!refs) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) refs[i] = (piece_ref){m->vocab.tokens[i], i};
    qsort(refs, n, sizeof *refs, by_piece);
    owl_status st = OWL_OK;
    for (size_t i = 1; i < n && !st; i++)
        if (by_piece(&refs[i - 1], &refs[i]) == 0) {
            char q[96];
            size_t a = refs[i - 1].id < refs[i].id ? refs[i - 1].id : refs[i].id;
            size_t b = refs[i - 1].id < refs[i].id ? refs[i].id : refs[i - 1].id;
            st = owl_fail(err, OWL_ERR_INPUT, "%s: pieces %zu and %zu are both %s", path, a, b,
                          owl_token_quote(q, sizeof q, refs[i].s.p, refs[i].s.len));
        }
    free(refs);
    return st;
}

static owl_status add_specials(owl_model *m, const trainer_spec *t, const char *path, owl_error *err) {
    static const char *const roles[] = {"unk", "bos", "eos", "pad"};
    const int32_t ids[] = {t->unk_id, t->bos_id, t->eos_id, t->pad_id};
    for (size_t i = 0; i < 4; i++) {
        if (ids[i] == -1) continue; /* the .proto's "not used" */
        if (ids[i] < 0 || (size_t)ids[i] >= m->vocab.n_tokens)
            return owl_fail(err, OWL_ERR_INPUT, "%s: trainer_spec.%s_id %d is outside the %zu pieces", path, roles[i],
                            ids[i], m->vocab.n_tokens);
        owl_status st = owl_model_add_special(m, roles[i], ids[i], err);
        if (st) return st;
    }
    return OWL_OK;
}

static json_t *spec_json(const trainer_spec *t, const normalizer_spec *n) {
    json_t *o = json_object();
    if (!o) return NULL;
    const char *type = t->model_type == MODEL_BPE ? "BPE" : "UNIGRAM";
    json_object_set_new(o, "sentencepiece.model_type", json_string(type));
    if (t->has_vocab_size) json_object_set_new(o, "sentencepiece.vocab_size", json_integer(t->vocab_size));
    json_object_set_new(o, "sentencepiece.byte_fallback", json_boolean(t->byte_fallback));
    json_object_set_new(o, "sentencepiece.treat_whitespace_as_suffix", json_boolean(t->whitespace_suffix));
    if (n->name.p) json_object_set_new(o, "sentencepiece.normalizer.name", owl_json_string_lossy(n->name.p, n->name.len));
    json_object_set_new(o, "sentencepiece.normalizer.add_dummy_prefix", json_boolean(n->add_dummy_prefix));
    json_object_set_new(o, "sentencepiece.normalizer.remove_extra_whitespaces", json_boolean(n->remove_extra_whitespaces));
    json_object_set_new(o, "sentencepiece.normalizer.escape_whitespaces", json_boolean(n->escape_whitespaces));
    json_object_set_new(o, "sentencepiece.normalizer.precompiled_charsmap_bytes", json_integer((json_int_t)n->charsmap_bytes));
    return o;
}

/* Meta's Llama 3 ships a tokenizer.model too, but it is tiktoken's text
   format: lines of "base64-token rank". */
static int looks_like_tiktoken(const uint8_t *data, size_t size) {
    size_t i = 0;
    while (i < size && i < 256 && (isalnum(data[i]) || data[i] == '+' || data[i] == '/' || data[i] == '=')) i++;
    if (i == 0 || i >= size || data[i++] != ' ' || i >= size || !isdigit(data[i])) return 0;
    while (i < size && isdigit(data[i])) i++;
    return i < size && data[i] == '\n';
}

static owl_status describe(owl_model *m, const uint8_t *data, size_t size, const char *path, owl_error *err) {
    if (looks_like_tiktoken(data, size))
        return owl_fail(err, OWL_ERR_UNSUPPORTED,
                        "%s: a tiktoken BPE file (\"base64 rank\" lines, as in Llama 3's tokenizer.model), not a SentencePiece "
                        "model; owl reads the same vocabulary from tokenizer.json",
                        path);
    trainer_spec t = {MODEL_UNIGRAM, 8000, 0, 1, 2, -1, 0, 0, 0};
    normalizer_spec n = {{NULL, 0}, 0, 1, 1, 1, 0};
    owl_pb_reader top;
    owl_pb_field f;
    owl_status st;
    int more;
    /* first pass: count the pieces, read the specs, and check the framing */
    uint64_t count = 0;
    owl_pb_init(&top, data, size, path);
    while ((more = owl_pb_next(&top, &f, err)) > 0) {
        if (f.number == 1) {
            if ((st = owl_pb_expect(&top, &f, OWL_PB_LEN, "pieces", err))) return st;
            count++;
        } else if (f.number == 2) {
            if ((st = owl_pb_expect(&top, &f, OWL_PB_LEN, "trainer_spec", err)) || (st = read_trainer(&top, &f, &t, err)))
                return st;
        } else if (f.number == 3) {
            if ((st = owl_pb_expect(&top, &f, OWL_PB_LEN, "normalizer_spec", err)) ||
                (st = read_normalizer(&top, &f, &n, err)))
                return st;
        }
    }
    if (more < 0) return err ? err->status : OWL_ERR_INPUT;
    if (count == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: not a SentencePiece model (no pieces)", path);
    if (t.model_type == MODEL_WORD || t.model_type == MODEL_CHAR)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: SentencePiece %s models are not supported (only BPE and unigram)",
                        path, t.model_type == MODEL_WORD ? "WORD" : "CHAR");
    if (t.model_type != MODEL_BPE && t.model_type != MODEL_UNIGRAM)
        return owl_fail(err, OWL_ERR_INPUT, "%s: trainer_spec.model_type %d is not a SentencePiece model type", path,
                        t.model_type);
    if ((st = owl_vocab_reserve(m, count, 1, 1, path, err))) return st;
    /* second pass: the pieces themselves */
    size_t id = 0;
    owl_pb_init(&top, data, size, path);
    while ((more = owl_pb_next(&top, &f, err)) > 0)
        if (f.number == 1 && (st = read_piece(m, &top, &f, id++, err))) return st;
    if (more < 0) return err ? err->status : OWL_ERR_INPUT;
    if ((st = owl_vocab_seal(m, path, err)) || (st = check_unique(m, path, err)) ||
        (st = add_specials(m, &t, path, err)))
        return st;
    owl_tokenizer_info *ti = &m->info.tokenizer;
    ti->kind = t.model_type == MODEL_BPE ? "llama" : "t5";
    ti->n_vocab = (int64_t)m->vocab.n_tokens;
    if (!m->metadata) m->metadata = spec_json(&t, &n);
    owl_tokenizer_set_format(m, OWL_FORMAT_SENTENCEPIECE);
    return OWL_OK;
}

owl_status owl_sentencepiece_parse(owl_model *m, const uint8_t *data, size_t size, const char *path, owl_error *err) {
    int file = owl_tokenizer_add_file(m, path, NULL, size, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    return describe(m, data, size, m->files[file].path, err);
}

owl_status owl_sentencepiece_load(owl_model *m, const char *path, owl_error *err) {
    owl_mapped_file map;
    owl_status st = owl_map_file(path, &map, err);
    if (st) return st;
    int file = owl_tokenizer_add_file(m, path, &map, 0, err);
    if (file < 0) return err ? err->status : OWL_ERR_NOMEM;
    const owl_mapped_file *mf = &m->maps[file];
    return describe(m, mf->data, (size_t)mf->size, m->files[file].path, err);
}
