/* data.c: training files to scored token documents, and documents to
 * training sequences. Chat records are rendered with the model's template
 * turn by turn: the text an assistant turn adds after the generation prompt
 * is what gets scored, so the loss falls on answers (and their end-of-turn
 * markers), never on prompts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "train/data.h"
#include "train/rng.h"

#define MAX_DATA_BYTES (4ull << 30)
#define MAX_LINE_BYTES (64u << 20)
#define MAX_DOCS (64ll << 20)

/* ---- documents ---------------------------------------------------------------- */

static owl_status add_doc(train_data *d, owl_error *err) {
    if (d->n_docs == d->cap) {
        if (d->n_docs >= MAX_DOCS) return owl_fail(err, OWL_ERR_INPUT, "more than %lld records", (long long)MAX_DOCS);
        int64_t cap = d->cap ? d->cap * 2 : 64;
        train_doc *p = realloc(d->docs, (size_t)cap * sizeof *p);
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        d->docs = p;
        d->cap = cap;
    }
    memset(&d->docs[d->n_docs++], 0, sizeof(train_doc));
    return OWL_OK;
}

/* Appends ids to the last document, scored or not. */
static owl_status doc_append(train_data *d, const int32_t *ids, size_t n, int scored, owl_error *err) {
    train_doc *doc = &d->docs[d->n_docs - 1];
    int32_t *t = realloc(doc->tok, (size_t)(doc->n + (int64_t)n + 1) * sizeof *t);
    if (t) doc->tok = t;
    uint8_t *s = realloc(doc->scored, (size_t)(doc->n + (int64_t)n + 1));
    if (s) doc->scored = s;
    if (!t || !s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    memcpy(doc->tok + doc->n, ids, n * sizeof *ids);
    memset(doc->scored + doc->n, scored ? 1 : 0, n);
    doc->n += (int64_t)n;
    d->n_tokens += (int64_t)n;
    if (scored) d->n_scored += (int64_t)n;
    return OWL_OK;
}

static owl_status append_text(train_data *d, const owl_tokenizer *tk, const char *text, size_t len, unsigned flags,
                              int scored, owl_error *err) {
    int32_t *ids = NULL;
    size_t n = 0;
    owl_status st = owl_tokenize(tk, text, len, flags, &ids, &n, err);
    if (!st) st = doc_append(d, ids, n, scored, err);
    free(ids);
    return st;
}

static int64_t special_id(const owl_model *m, const char *role) {
    const owl_tokenizer_info *ti = &owl_model_get_info(m)->tokenizer;
    for (size_t i = 0; i < ti->n_special; i++)
        if (strcmp(ti->special[i].role, role) == 0) return ti->special[i].id;
    return -1;
}

/* {"text": ...}: BOS as the model adds it, the text, EOS; all but the first token scored. */
static owl_status text_record(train_data *d, const owl_model *m, const owl_tokenizer *tk, const char *text, size_t len,
                              owl_error *err) {
    owl_status st = add_doc(d, err);
    if (!st) st = append_text(d, tk, text, len, OWL_TOKENIZE_ADD_SPECIAL | OWL_TOKENIZE_PARSE_SPECIAL, 1, err);
    train_doc *doc = &d->docs[d->n_docs - 1];
    int64_t eos = special_id(m, "eos");
    if (!st && eos >= 0 && (doc->n == 0 || doc->tok[doc->n - 1] != eos)) {
        int32_t e = (int32_t)eos;
        st = doc_append(d, &e, 1, 1, err);
    }
    if (!st && doc->n > 0 && doc->scored[0]) {
        doc->scored[0] = 0; /* the first token has nothing before it to predict it */
        d->n_scored--;
    }
    return st;
}

static owl_status render(const owl_model *m, const char *template_src, json_t *msgs, size_t upto, int gen_prompt,
                         char **out, size_t *len, owl_error *err) {
    json_t *prefix = json_array();
    for (size_t i = 0; i < upto; i++) json_array_append(prefix, json_array_get(msgs, i));
    char *mj = json_dumps(prefix, JSON_COMPACT);
    json_decref(prefix);
    if (!mj) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_chat_params p = {0};
    p.template_source = template_src;
    p.messages_json = mj;
    p.add_generation_prompt = gen_prompt;
    owl_status st = owl_chat_render(m, &p, out, len, err);
    free(mj);
    return st;
}

/* Chat text as the model reads it: special-token text parsed, BOS put first
   when the tokenizer adds one and the template did not write it. */
static owl_status chat_tokens(const owl_model *m, const owl_tokenizer *tk, const char *text, size_t len, int32_t **ids,
                              size_t *n, owl_error *err) {
    owl_status st = owl_tokenize(tk, text, len, OWL_TOKENIZE_PARSE_SPECIAL, ids, n, err);
    if (st) return st;
    /* whether the tokenizer adds BOS, as its own rules (and defaults) say */
    int32_t *probe = NULL;
    size_t np = 0;
    if ((st = owl_tokenize(tk, "", 0, OWL_TOKENIZE_ADD_SPECIAL, &probe, &np, err))) return st;
    int64_t bos = np > 0 && probe[0] == special_id(m, "bos") ? probe[0] : -1;
    free(probe);
    if (bos >= 0 && (*n == 0 || (*ids)[0] != bos)) {
        int32_t *p = realloc(*ids, (*n + 1) * sizeof *p);
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        memmove(p + 1, p, *n * sizeof *p);
        p[0] = (int32_t)bos;
        *ids = p;
        (*n)++;
    }
    return OWL_OK;
}

/* How many leading tokens of the whole conversation the text full[0, len)
   accounts for: the tokens of that prefix that agree with the whole. */
static owl_status boundary(const owl_model *m, const owl_tokenizer *tk, const char *full, size_t len, const int32_t *all,
                           size_t n_all, size_t *at, owl_error *err) {
    int32_t *ids = NULL;
    size_t n = 0;
    owl_status st = chat_tokens(m, tk, full, len, &ids, &n, err);
    if (st) return st;
    size_t k = 0;
    while (k < n && k < n_all && ids[k] == all[k]) k++;
    free(ids);
    *at = k;
    return OWL_OK;
}

/* {"messages": [...]}: the whole conversation rendered and tokenized once.
   Assistant turn i spans the text between the render of the turns before it
   with the generation prompt and the render that includes it; its tokens are
   found by tokenizing those prefixes (tokens never straddle the cut). */
static owl_status chat_record(train_data *d, const owl_model *m, const owl_tokenizer *tk, const char *template_src,
                              json_t *msgs, const char *where, owl_error *err) {
    size_t n = json_array_size(msgs);
    if (n == 0) return owl_fail(err, OWL_ERR_INPUT, "%s: \"messages\" is empty", where);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *msg = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (!json_is_object(msg) || !role || !json_is_string(json_object_get(msg, "content")))
            return owl_fail(err, OWL_ERR_INPUT, "%s: messages[%zu] needs a \"role\" and a string \"content\"", where, i);
        any |= strcmp(role, "assistant") == 0;
    }
    if (!any) return owl_fail(err, OWL_ERR_INPUT, "%s: no assistant turn to learn from", where);
    char *full = NULL;
    size_t full_len = 0, n_all = 0;
    int32_t *all = NULL;
    uint8_t *scored = NULL;
    owl_status st = render(m, template_src, msgs, n, 0, &full, &full_len, err);
    if (st) return owl_fail(err, st, "%s: %s", where, err->message);
    if ((st = chat_tokens(m, tk, full, full_len, &all, &n_all, err))) goto out;
    if (!(scored = calloc(n_all + 1, 1))) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && !st; i++) {
        if (strcmp(json_string_value(json_object_get(json_array_get(msgs, i), "role")), "assistant") != 0) continue;
        char *before = NULL, *with = NULL;
        size_t lb = 0, lw = 0, t0 = 0, t1 = 0;
        st = render(m, template_src, msgs, i, 1, &before, &lb, err);
        if (!st) st = render(m, template_src, msgs, i + 1, 0, &with, &lw, err);
        if (!st && (lb > lw || lw > full_len || memcmp(before, full, lb) != 0 || memcmp(with, full, lw) != 0))
            st = owl_fail(err, OWL_ERR_INPUT,
                          "%s: the chat template does not render this conversation turn by turn (messages[%zu]), so "
                          "the assistant's tokens cannot be told apart; give a template with --chat-template", where, i);
        if (!st) st = boundary(m, tk, full, lb, all, n_all, &t0, err);
        if (!st) st = boundary(m, tk, full, lw, all, n_all, &t1, err);
        for (size_t k = t0; !st && k < t1; k++) scored[k] = 1;
        free(before);
        free(with);
    }
    if (!st) st = add_doc(d, err);
    for (size_t k = 0; !st && k < n_all;) { /* runs of equal flags */
        size_t e = k;
        while (e < n_all && scored[e] == scored[k]) e++;
        st = doc_append(d, all + k, e - k, scored[k], err);
        k = e;
    }
out:
    if (st && !strstr(err->message, where)) owl_fail(err, st, "%s: %s", where, err->message);
    free(full);
    free(all);
    free(scored);
    return st;
}

static owl_status jsonl_line(train_data *d, const owl_model *m, const owl_tokenizer *tk, const char *template_src,
                             const char *line, size_t len, const char *where, owl_error *err) {
    json_error_t je;
    json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!rec) return owl_fail(err, OWL_ERR_INPUT, "%s: invalid JSON at column %d: %s", where, je.column, je.text);
    json_t *text = json_object_get(rec, "text"), *msgs = json_object_get(rec, "messages");
    owl_status st;
    if (json_is_string(text))
        st = text_record(d, m, tk, json_string_value(text), json_string_length(text), err);
    else if (json_is_array(msgs))
        st = chat_record(d, m, tk, template_src, msgs, where, err);
    else
        st = owl_fail(err, OWL_ERR_INPUT, "%s: expected an object with \"text\" (a string) or \"messages\" (an array)", where);
    json_decref(rec);
    if (st && !strstr(err->message, where)) owl_fail(err, st, "%s: %s", where, err->message);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *read_all(const char *path, size_t *len, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_DATA_BYTES) {
                owl_fail(err, OWL_ERR_INPUT, "%s: larger than %llu bytes", path, (unsigned long long)MAX_DATA_BYTES);
                free(buf);
                fclose(f);
                return NULL;
            }
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) break;
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        owl_fail(err, OWL_ERR_NOMEM, "out of memory reading %s", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        owl_fail(err, OWL_ERR_IO, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

owl_status train_data_load(const char *path, const owl_model *m, const owl_tokenizer *tk, const char *template_src,
                           train_data *out, owl_error *err) {
    memset(out, 0, sizeof *out);
    owl_status st = owl_sha256_file(path, out->digest, NULL, NULL, err);
    if (st) return st;
    size_t len = 0;
    char *buf = read_all(path, &len, err);
    if (!buf) return err->status ? err->status : OWL_ERR_IO;
    if (ends_with(path, ".jsonl") || ends_with(path, ".json")) {
        size_t line_no = 0, at = 0;
        while (at < len && !st) {
            size_t end = at;
            while (end < len && buf[end] != '\n') end++;
            line_no++;
            size_t n = end - at;
            while (n && (buf[at + n - 1] == '\r' || buf[at + n - 1] == ' ' || buf[at + n - 1] == '\t')) n--;
            char where[4200];
            snprintf(where, sizeof where, "%s:%zu", path, line_no);
            if (n > MAX_LINE_BYTES) st = owl_fail(err, OWL_ERR_INPUT, "%s: record longer than %u bytes", where, MAX_LINE_BYTES);
            else if (n) {
                int64_t before = out->n_docs;
                st = jsonl_line(out, m, tk, template_src, buf + at, n, where, err);
                if (!st && out->n_docs > before && out->docs[out->n_docs - 1].n < 2)
                    st = owl_fail(err, OWL_ERR_INPUT, "%s: the record has fewer than two tokens", where);
            }
            at = end + 1;
        }
        snprintf(out->kind, sizeof out->kind, "jsonl");
    } else {
        st = add_doc(out, err);
        if (!st) st = append_text(out, tk, buf, len, OWL_TOKENIZE_ADD_SPECIAL, 1, err);
        if (!st && out->docs[0].n > 0 && out->docs[0].scored[0]) {
            out->docs[0].scored[0] = 0;
            out->n_scored--;
        }
        snprintf(out->kind, sizeof out->kind, "plain");
    }
    free(buf);
    if (!st && out->n_scored == 0) st = owl_fail(err, OWL_ERR_INPUT, "%s: no tokens to learn from", path);
    if (st) train_data_free(out);
    return st;
}

void train_data_free(train_data *d) {
    for (int64_t i = 0; i < d->n_docs; i++) {
        free(d->docs[i].tok);
        free(d->docs[i].scored);
    }
    free(d->docs);
    memset(d, 0, sizeof *d);
}

/* Fisher-Yates with the counter-based generator: order depends on the seed only. */
static void shuffle(int64_t *idx, int64_t n, uint64_t key) {
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(owl_rng_hash(key, (uint64_t)i) % (uint64_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

owl_status train_data_split(train_data *all, double fraction, uint64_t seed, train_data *eval, owl_error *err) {
    memset(eval, 0, sizeof *eval);
    if (all->n_docs < 2 || fraction <= 0) return OWL_OK;
    int64_t k = (int64_t)(fraction * (double)all->n_docs + 0.5);
    if (k < 1) k = 1;
    if (k >= all->n_docs) k = all->n_docs - 1;
    int64_t *idx = malloc((size_t)all->n_docs * sizeof *idx);
    uint8_t *to_eval = calloc((size_t)all->n_docs, 1);
    eval->docs = malloc((size_t)k * sizeof *eval->docs);
    if (!idx || !to_eval || !eval->docs) {
        free(idx);
        free(to_eval);
        free(eval->docs);
        eval->docs = NULL;
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    shuffle(idx, all->n_docs, owl_rng_hash(seed, 0x5e1f));
    for (int64_t i = 0; i < k; i++) to_eval[idx[i]] = 1;
    int64_t w = 0;
    for (int64_t i = 0; i < all->n_docs; i++) {
        train_doc *doc = &all->docs[i];
        int64_t scored = 0;
        for (int64_t j = 0; j < doc->n; j++) scored += doc->scored[j];
        if (to_eval[i]) {
            eval->docs[eval->n_docs++] = *doc;
            eval->n_tokens += doc->n;
            eval->n_scored += scored;
            all->n_tokens -= doc->n;
            all->n_scored -= scored;
        } else {
            all->docs[w++] = *doc;
        }
    }
    all->n_docs = w;
    eval->cap = eval->n_docs;
    memcpy(eval->digest, all->digest, sizeof eval->digest);
    snprintf(eval->kind, sizeof eval->kind, "%s", all->kind);
    free(idx);
    free(to_eval);
    return OWL_OK;
}

/* ---- sequences -------------------------------------------------------------------- */

owl_status train_stream_init(train_stream *s, const train_data *d, int64_t T, int pack, uint64_t seed, owl_error *err) {
    memset(s, 0, sizeof *s);
    s->d = d;
    s->T = T;
    s->pack = pack;
    s->seed = seed;
    s->epoch = -1;
    s->len = d->n_tokens;
    s->n_seq = pack ? (s->len - 1 + T - 1) / T : d->n_docs;
    if (s->n_seq < 1) s->n_seq = 1;
    s->tok = malloc((size_t)(s->len + 1) * sizeof *s->tok);
    s->docid = malloc((size_t)(s->len + 1) * sizeof *s->docid);
    s->pos = malloc((size_t)(s->len + 1) * sizeof *s->pos);
    s->scored = malloc((size_t)(s->len + 1));
    s->start = malloc((size_t)s->n_seq * sizeof *s->start);
    s->span = malloc((size_t)s->n_seq * sizeof *s->span);
    if (!s->tok || !s->docid || !s->pos || !s->scored || !s->start || !s->span) {
        train_stream_free(s);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory for %lld training tokens", (long long)d->n_tokens);
    }
    return OWL_OK;
}

void train_stream_free(train_stream *s) {
    free(s->tok);
    free(s->docid);
    free(s->pos);
    free(s->scored);
    free(s->start);
    free(s->span);
    memset(s, 0, sizeof *s);
}

/* Lays out one epoch: documents in their (shuffled) order end to end. */
static owl_status lay_out(train_stream *s, int64_t epoch, int shuffled, owl_error *err) {
    const train_data *d = s->d;
    int64_t *order = malloc((size_t)(d->n_docs ? d->n_docs : 1) * sizeof *order);
    if (!order) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    if (shuffled) shuffle(order, d->n_docs, owl_rng_hash(s->seed, (uint64_t)epoch + 1));
    else
        for (int64_t i = 0; i < d->n_docs; i++) order[i] = i;
    int64_t at = 0, k = 0;
    for (int64_t i = 0; i < d->n_docs; i++) {
        const train_doc *doc = &d->docs[order[i]];
        if (!s->pack && k < s->n_seq) {
            s->start[k] = at;
            s->span[k++] = doc->n < s->T + 1 ? doc->n : s->T + 1;
        }
        for (int64_t j = 0; j < doc->n; j++, at++) {
            s->tok[at] = doc->tok[j];
            s->scored[at] = doc->scored[j];
            s->docid[at] = (int32_t)i;
            s->pos[at] = (int32_t)j;
        }
    }
    if (s->pack)
        for (k = 0; k < s->n_seq; k++) {
            s->start[k] = k * s->T;
            int64_t left = s->len - s->start[k];
            s->span[k] = left < s->T + 1 ? left : s->T + 1;
        }
    free(order);
    s->epoch = shuffled ? epoch : -2;
    return OWL_OK;
}

owl_status train_stream_get(train_stream *s, int64_t g, int shuffled, train_seq *q, owl_error *err) {
    int64_t epoch = g / s->n_seq, k = g % s->n_seq;
    if ((shuffled && s->epoch != epoch) || (!shuffled && s->epoch != -2)) {
        owl_status st = lay_out(s, epoch, shuffled, err);
        if (st) return st;
    }
    int64_t a = s->start[k], span = s->span[k], T = span - 1 > 0 ? span - 1 : 0;
    q->n_scored = 0;
    q->T = s->T;
    for (int64_t t = 0; t < s->T; t++) {
        if (t < T) {
            int64_t i = a + t, j = i + 1;
            int same = s->docid[j] == s->docid[i];
            q->tokens[t] = s->tok[i];
            q->targets[t] = s->tok[j];
            q->w[t] = same && s->scored[j] ? 1.0f : 0.0f;
            q->pos[t] = s->pos[i] - s->pos[a] * (s->docid[i] == s->docid[a]); /* documents cut at a boundary restart at 0 */
            q->doc[t] = s->docid[i];
        } else { /* padding: attends to itself only, scores nothing */
            q->tokens[t] = q->targets[t] = 0;
            q->w[t] = 0;
            q->pos[t] = 0;
            q->doc[t] = -1 - (int32_t)t;
        }
        q->n_scored += q->w[t] != 0;
    }
    return OWL_OK;
}

owl_status train_seq_alloc(train_seq *q, int64_t T, owl_error *err) {
    memset(q, 0, sizeof *q);
    q->tokens = malloc((size_t)T * sizeof(int32_t));
    q->targets = malloc((size_t)T * sizeof(int32_t));
    q->pos = malloc((size_t)T * sizeof(int32_t));
    q->doc = malloc((size_t)T * sizeof(int32_t));
    q->w = malloc((size_t)T * sizeof(float));
    q->T = T;
    if (!q->tokens || !q->targets || !q->pos || !q->doc || !q->w) {
        train_seq_free(q);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    return OWL_OK;
}

void train_seq_free(train_seq *q) {
    free(q->tokens);
    free(q->targets);
    free(q->pos);
    free(q->doc);
    free(q->w);
    memset(q, 0, sizeof *q);
}
