/* generate.c: one sequence's generation loop as a library call: reuse the
 * cached prefix of the prompt, decode the rest in batches, then sample,
 * detokenize, hold back text that may start a stop string, and stream the
 * rest to a callback until end of generation, a stop string, the token limit
 * or a cancel. `owl chat` runs every turn through it. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "owl.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + 1e-6 * (double)ts.tv_nsec;
}

owl_generate_params owl_generate_default_params(void) {
    owl_generate_params p;
    memset(&p, 0, sizeof p);
    p.n_predict = 256;
    return p;
}

owl_status owl_tokenize_chat(const owl_tokenizer *tk, const char *text, size_t len, int32_t **ids, size_t *n,
                             owl_error *err) {
    owl_status st = owl_tokenize(tk, text, len, OWL_TOKENIZE_PARSE_SPECIAL, ids, n, err);
    if (st) return st;
    /* what the tokenizer itself puts in front of a text (BOS for most models) */
    int32_t *lead = NULL;
    size_t n_lead = 0;
    if (owl_tokenize(tk, "", 0, OWL_TOKENIZE_ADD_SPECIAL, &lead, &n_lead, NULL) == OWL_OK && n_lead > 0 &&
        !(*n > 0 && (*ids)[0] == lead[0])) {
        int32_t *p = realloc(*ids, (*n + 1) * sizeof *p);
        if (!p) {
            free(lead);
            free(*ids);
            *ids = NULL;
            return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
        }
        memmove(p + 1, p, *n * sizeof *p);
        p[0] = lead[0];
        *ids = p;
        (*n)++;
    }
    free(lead);
    return OWL_OK;
}

static int push_token(int32_t **toks, size_t *n, size_t *cap, int32_t t) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int32_t *p = realloc(*toks, c * sizeof *p);
        if (!p) return 0;
        *toks = p;
        *cap = c;
    }
    (*toks)[(*n)++] = t;
    return 1;
}

owl_status owl_generate(owl_engine *e, const owl_tokenizer *tk, owl_sampler *sm, const int32_t *prompt,
                        size_t n_prompt, const owl_generate_params *p, owl_text_fn on_text, void *ctx,
                        owl_generate_result *r, owl_error *err) {
    memset(r, 0, sizeof *r);
    r->stop_reason = "length";
    if (!n_prompt) return owl_fail(err, OWL_ERR_USAGE, "generate: the prompt has no tokens");
    int32_t seq = p->seq;
    /* the cached tokens that the new prompt starts with need no decoding; keep
       at least one token to decode so there are logits to sample from */
    size_t common = 0;
    while (common < p->n_cached && common < n_prompt && p->cached[common] == prompt[common]) common++;
    if (common == n_prompt) common--;
    if (owl_engine_seq_drop(e, seq, (int64_t)common, -1, err)) return err ? err->status : OWL_ERR_INPUT;
    r->n_prompt = (int64_t)n_prompt;
    r->n_cached = (int64_t)common;

    owl_stop *stop = NULL;
    owl_detok_stream *ds = NULL;
    float *masked = NULL;
    owl_status st = owl_stop_new(p->stops, p->n_stops, &stop, err);
    if (st) return st;
    if (!(ds = owl_detok_stream_new(tk, 0))) {
        owl_stop_free(stop);
        return owl_fail(err, OWL_ERR_NOMEM, "generate: out of memory");
    }
    int64_t V = owl_engine_n_vocab(e);
    if (p->filter && !(masked = malloc((size_t)V * sizeof *masked))) {
        st = owl_fail(err, OWL_ERR_NOMEM, "generate: out of memory");
        goto done;
    }
    double t0 = now_ms();
    int64_t batch = p->n_batch > 0 ? p->n_batch : 256;
    int64_t last_row = 0;
    for (size_t at = common; at < n_prompt; at += (size_t)batch) {
        if (p->cancel && *p->cancel) {
            r->stop_reason = "cancelled";
            goto done;
        }
        int64_t k = (int64_t)(n_prompt - at) < batch ? (int64_t)(n_prompt - at) : batch;
        int64_t *pos = malloc((size_t)k * sizeof *pos);
        int32_t *seqs = malloc((size_t)k * sizeof *seqs);
        if (!pos || !seqs) {
            free(pos);
            free(seqs);
            st = owl_fail(err, OWL_ERR_NOMEM, "generate: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < k; i++) {
            pos[i] = (int64_t)at + i;
            seqs[i] = seq;
        }
        owl_batch b = {.n_tokens = k, .tokens = prompt + at, .pos = pos, .seq = seqs};
        st = owl_engine_decode(e, &b, err);
        free(pos);
        free(seqs);
        if (st) goto done;
        last_row = k - 1;
    }
    if (!p->keep_sampler_window)
        for (size_t i = 0; i < n_prompt; i++) owl_sampler_accept(sm, prompt[i]);
    double t1 = now_ms();
    r->prompt_ms = t1 - t0;
    size_t cap = 0;
    int64_t pos = (int64_t)n_prompt;
    for (int64_t n = 0; n < p->n_predict; n++) {
        if (p->cancel && *p->cancel) {
            r->stop_reason = "cancelled";
            break;
        }
        const float *logits = owl_engine_logits(e, last_row);
        const float *choose = logits;
        if (p->filter) {
            memcpy(masked, logits, (size_t)V * sizeof *masked);
            if (p->filter(p->filter_ctx, masked, V)) {
                st = owl_fail(err, OWL_ERR_INPUT, "generate: the output constraint allows no token here");
                goto done;
            }
            choose = masked;
        }
        int32_t tok = owl_sampler_sample(sm, choose);
        if (tok < 0) {
            st = owl_fail(err, OWL_ERR_INPUT, "generate: no token to sample");
            goto done;
        }
        if (p->on_token) p->on_token(p->filter_ctx, tok);
        if (!p->ignore_eos && owl_token_is_eog(tk, tok)) {
            r->stop_reason = "eos";
            break;
        }
        owl_sampler_accept(sm, tok);
        if (!push_token(&r->tokens, &r->n_tokens, &cap, tok)) {
            st = owl_fail(err, OWL_ERR_NOMEM, "generate: out of memory");
            goto done;
        }
        char *piece = NULL;
        size_t plen = 0;
        if ((st = owl_detok_stream_push(ds, tok, &piece, &plen, err))) goto done;
        const char *emit;
        size_t n_emit;
        int stopped = owl_stop_push(stop, piece, plen, &emit, &n_emit);
        free(piece);
        if (stopped < 0) {
            st = owl_fail(err, OWL_ERR_NOMEM, "generate: out of memory");
            goto done;
        }
        if (n_emit && on_text && on_text(ctx, emit, n_emit)) {
            r->stop_reason = "cancelled";
            goto decode_last;
        }
        if (stopped) {
            r->stop_reason = "stop";
            goto decode_last;
        }
        if (n + 1 == p->n_predict) goto decode_last;
        owl_batch b = {.n_tokens = 1, .tokens = &tok, .pos = &pos, .seq = &seq};
        if ((st = owl_engine_decode(e, &b, err))) goto done;
        pos++;
        last_row = 0;
        continue;
    decode_last:
        /* the last token joins the cache too, so the next turn can reuse it */
        if ((st = owl_engine_decode(e, &(owl_batch){.n_tokens = 1, .tokens = &tok, .pos = &pos, .seq = &seq}, err)))
            goto done;
        pos++;
        break;
    }
    if (strcmp(r->stop_reason, "stop") && strcmp(r->stop_reason, "cancelled")) {
        char *tail = NULL;
        size_t tl = 0;
        const char *emit;
        size_t n_emit;
        if (!owl_detok_stream_flush(ds, &tail, &tl, NULL) && tl) owl_stop_push(stop, tail, tl, &emit, &n_emit);
        free(tail);
        owl_stop_flush(stop, &emit, &n_emit);
        if (n_emit && on_text) on_text(ctx, emit, n_emit);
    }
    r->gen_ms = now_ms() - t1;
done:
    free(masked);
    owl_detok_stream_free(ds);
    owl_stop_free(stop);
    return st;
}
