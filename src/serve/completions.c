/* completions.c: POST /v1/chat/completions and /v1/completions: the prompt
 * rendered and tokenized, the generation run on the model's engine, and the
 * answer sent whole or streamed as Server-Sent Events. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "serve/server.h"

/* The per-request deadline: text callbacks past it end the generation ("length" is not claimed). */
typedef struct deadline_text {
    owl_text_fn fn;
    void *ctx;
    struct timespec end;
    int expired;
} deadline_text;

static int deadline_fn(void *ctx, const char *t, size_t n) {
    deadline_text *d = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > d->end.tv_sec || (now.tv_sec == d->end.tv_sec && now.tv_nsec > d->end.tv_nsec)) {
        d->expired = 1;
        return 1;
    }
    return d->fn(d->ctx, t, n);
}

static owl_status generate(owl_server *s, gen_req *g, const int32_t *ids, size_t n_ids, owl_text_fn fn_,
                           void *out_, volatile int *cancel, owl_generate_result *r, owl_error *err) {
    deadline_text dl = {fn_, out_, {0, 0}, 0};
    clock_gettime(CLOCK_MONOTONIC, &dl.end);
    dl.end.tv_sec += s->p.request_timeout_s;
    owl_text_fn fn = deadline_fn;
    void *out = &dl;
    serve_model *m = g->m;
    owl_sampler_params sp = owl_sampler_default_params();
    sp.temperature = (float)g->temperature;
    sp.top_p = (float)g->top_p;
    sp.presence_penalty = (float)g->presence;
    sp.frequency_penalty = (float)g->frequency;
    sp.seed = g->has_seed ? g->seed : (uint64_t)time(NULL);
    sp.logit_bias = g->bias;
    sp.n_logit_bias = g->n_bias;
    int64_t V = owl_engine_n_vocab(m->eng);
    for (int i = 0; i < g->n_bias; i++)
        if (g->bias[i].token >= V) return owl_fail(err, OWL_ERR_INPUT, "logit_bias: token %d is past the vocabulary (%lld)", (int)g->bias[i].token, (long long)V);
    owl_sampler *sm = NULL;
    owl_status st = owl_sampler_new(&sp, owl_engine_n_vocab(m->eng), &sm, err);
    if (st) return st;
    owl_generate_params gp = owl_generate_default_params();
    gp.n_predict = g->max_tokens;
    gp.stops = g->stops;
    gp.n_stops = g->n_stops;
    gp.cancel = cancel;
    owl_token_mask *mask = NULL; /* response_format: tokens that would leave the schema are masked */
    pthread_mutex_lock(&s->met.lock);
    int full = s->met.queued >= s->p.max_queue;
    if (!full) s->met.queued++;
    pthread_mutex_unlock(&s->met.lock);
    if (full) {
        owl_sampler_free(sm);
        return owl_fail(err, OWL_ERR_NOMEM, "the queue is full (%d requests waiting); retry later", s->p.max_queue);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    pthread_mutex_lock(&s->met.lock);
    s->met.queued--;
    s->met.active++;
    pthread_mutex_unlock(&s->met.lock);
    if (g->schema) {
        if (!m->trie) st = owl_token_trie_new(m->tok, V, &m->trie, err);
        if (!st) st = owl_token_mask_new(g->schema, NULL, m->tok, m->trie, V, &mask, err);
        gp.filter = owl_token_mask_apply;
        gp.on_token = owl_token_mask_accept;
        gp.filter_ctx = mask;
    }
    owl_engine_seq_drop(m->eng, 0, 0, -1, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!st) st = owl_generate(m->eng, m->tok, sm, ids, n_ids, &gp, fn, out, r, err);
    pthread_mutex_unlock(&m->lock);
    if (!st && dl.expired) r->stop_reason = "deadline";
    double wait_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    pthread_mutex_lock(&s->met.lock);
    s->met.active--;
    if (!st) {
        s->met.prompt_tokens += (uint64_t)r->n_prompt;
        s->met.gen_tokens += r->n_tokens;
        double per = r->n_tokens ? r->gen_ms / 1e3 / (double)r->n_tokens : 0;
        serve_observe(&s->met.ttft, wait_s + r->prompt_ms / 1e3 + per);
        for (size_t i = 0; i < r->n_tokens; i++) serve_observe(&s->met.per_token, per);
    }
    pthread_mutex_unlock(&s->met.lock);
    owl_token_mask_free(mask);
    owl_sampler_free(sm);
    return st;
}

static const char *finish_reason(const char *stop) {
    return !strcmp(stop, "length") ? "length" : "stop";
}

/* ---- streaming: a worker thread generates, the connection thread sends each
 * chunk as it comes; a client that goes away cancels its generation at once. */
typedef struct stream_job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    text_buf pending;   /* SSE bytes not yet sent */
    size_t sent;        /* of pending, already handed to MHD */
    int done, refs, include_usage, chat;
    volatile int cancel;
    owl_server *s;
    gen_req g;
    char *stops[MAX_STOPS];
    int32_t *ids;
    size_t n_ids;
    char id[64];
    long long created;
    json_t *ev;            /* the request's audit event, written when the stream ends; NULL: none */
    struct timespec t0;
    char req_id[40];
    text_buf answer;       /* the text, kept for the audit log under --audit-content */
} stream_job;

static void job_release(stream_job *j) {
    pthread_mutex_lock(&j->lock);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last) return;
    for (size_t i = 0; i < j->g.n_stops; i++) free(j->stops[i]);
    owl_json_schema_free(j->g.schema);
    free(j->ids);
    free(j->pending.p);
    free(j->answer.p);
    json_decref(j->ev);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    free(j);
}

static void job_event(stream_job *j, json_t *choices, json_t *usage) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", j->id, "object",
                          j->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)j->created,
                          "model", j->g.m->name, "choices", choices);
    if (usage) json_object_set_new(o, "usage", usage);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    pthread_mutex_lock(&j->lock);
    if (t) { serve_text_add(&j->pending, "data: ", 6); serve_text_add(&j->pending, t, strlen(t)); serve_text_add(&j->pending, "\n\n", 2); }
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    free(t);
}

static int job_text(void *ctx, const char *t, size_t n) {
    stream_job *j = ctx;
    if (j->ev && j->s->p.audit_content) serve_text_add(&j->answer, t, n);
    json_t *choice = j->chat ? json_pack("{s:i,s:{s:s%},s:o}", "index", 0, "delta", "content", t, n, "finish_reason", json_null())
                             : json_pack("{s:i,s:s%,s:o}", "index", 0, "text", t, n, "finish_reason", json_null());
    job_event(j, json_pack("[o]", choice), NULL);
    return j->cancel || j->s->stop;
}

static void *job_run(void *arg) {
    stream_job *j = arg;
    owl_error err = {0};
    owl_generate_result r = {0};
    if (j->chat)
        job_event(j, json_pack("[{s:i,s:{s:s,s:s},s:o}]", "index", 0, "delta", "role", "assistant", "content", "",
                               "finish_reason", json_null()), NULL);
    owl_status st = generate(j->s, &j->g, j->ids, j->n_ids, job_text, j, &j->cancel, &r, &err);
    if (st) {
        json_t *e = json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", err.message, "type",
                              st == OWL_ERR_NOMEM ? "rate_limit_error" : "invalid_request_error", "param", json_null(), "code", json_null());
        char *t = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        pthread_mutex_lock(&j->lock);
        if (t) { serve_text_add(&j->pending, "data: ", 6); serve_text_add(&j->pending, t, strlen(t)); serve_text_add(&j->pending, "\n\n", 2); }
        pthread_mutex_unlock(&j->lock);
        free(t);
    } else {
        const char *fr = finish_reason(r.stop_reason);
        job_event(j, j->chat ? json_pack("[{s:i,s:{},s:s}]", "index", 0, "delta", "finish_reason", fr)
                             : json_pack("[{s:i,s:s,s:s}]", "index", 0, "text", "", "finish_reason", fr), NULL);
        if (j->include_usage)
            job_event(j, json_array(), json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)r.n_prompt, "completion_tokens",
                                                 (json_int_t)r.n_tokens, "total_tokens", (json_int_t)(r.n_prompt + (int64_t)r.n_tokens)));
    }
    free(r.tokens);
    int audit_failed = 0;
    if (j->ev) { /* on disk before the stream's end goes out */
        json_object_set_new(j->ev, "completion_tokens", st ? json_null() : json_integer((json_int_t)r.n_tokens));
        json_object_set_new(j->ev, "finish_reason", st ? json_null() : json_string(r.stop_reason));
        if (st) json_object_set_new(j->ev, "error", json_string(err.message));
        if (j->s->p.audit_content) serve_audit_content_text(j->ev, "completion", j->answer.p ? j->answer.p : "", j->answer.n);
        audit_failed = serve_audit_write(j->s, j->ev, 200, &j->t0, j->req_id) != OWL_OK;
    }
    pthread_mutex_lock(&j->lock);
    if (audit_failed) { /* the status line is gone already: end with an error and no [DONE] */
        const char *e = "data: {\"error\":{\"message\":\"the audit log cannot be written: the request is refused\","
                        "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
        serve_text_add(&j->pending, e, strlen(e));
    } else {
        serve_text_add(&j->pending, "data: [DONE]\n\n", 14);
    }
    j->done = 1;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    owl_server *s = j->s;
    job_release(j);
    pthread_mutex_lock(&s->met.lock);
    s->met.workers--;
    pthread_mutex_unlock(&s->met.lock);
    return NULL;
}

static ssize_t job_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_job *j = cls;
    pthread_mutex_lock(&j->lock);
    while (j->sent == j->pending.n && !j->done) pthread_cond_wait(&j->cond, &j->lock);
    size_t n = j->pending.n - j->sent;
    if (n > max) n = max;
    memcpy(buf, j->pending.p + j->sent, n);
    j->sent += n;
    if (j->sent == j->pending.n) j->sent = j->pending.n = 0;
    pthread_mutex_unlock(&j->lock);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void job_gone(void *cls) { /* the response is done or the client went away */
    stream_job *j = cls;
    j->cancel = 1;
    job_release(j);
}

static enum MHD_Result start_stream(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int chat,
                                    gen_req *gr, int32_t *ids, size_t n_ids) {
    pthread_mutex_lock(&s->met.lock);
    int full = s->met.queued >= s->p.max_queue;
    pthread_mutex_unlock(&s->met.lock);
    if (full) { free(ids); return serve_send_error(c, 429, "rate_limit_error", NULL, "the queue is full; retry later"); }
    stream_job *j = calloc(1, sizeof *j);
    if (!j) { free(ids); return MHD_NO; }
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    j->s = s;
    j->g = *gr;
    gr->schema = NULL; /* the job owns it now */
    for (size_t i = 0; i < j->g.n_stops; i++) j->g.stops[i] = j->stops[i] = strdup(j->g.stops[i]);
    j->ids = ids;
    j->n_ids = n_ids;
    j->chat = chat;
    json_t *so = json_object_get(req, "stream_options");
    j->include_usage = json_is_object(so) && json_is_true(json_object_get(so, "include_usage"));
    j->created = (long long)time(NULL);
    snprintf(j->id, sizeof j->id, "%s-%s", chat ? "chatcmpl" : "cmpl", cs->id);
    if (cs->audit_pending) { /* the job writes the line when the stream ends */
        j->ev = cs->ev;
        cs->ev = NULL;
        cs->audit_pending = 0;
        j->t0 = cs->t0;
        memcpy(j->req_id, cs->id, sizeof j->req_id);
    }
    j->refs = 2;
    pthread_t th;
    pthread_mutex_lock(&s->met.lock);
    s->met.workers++;
    pthread_mutex_unlock(&s->met.lock);
    if (pthread_create(&th, NULL, job_run, j)) {
        pthread_mutex_lock(&s->met.lock);
        s->met.workers--;
        pthread_mutex_unlock(&s->met.lock);
        j->refs = 1;
        job_release(j);
        return MHD_NO;
    }
    pthread_detach(th);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, job_read, j, job_gone);
    if (!r) { j->cancel = 1; job_release(j); return MHD_NO; }
    serve_count_response(200);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    serve_add_request_headers(r, cs);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result route_generate_valid(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req,
                                            int chat, gen_req *gr) {
    if (!gr->m) return serve_send_error(c, 404, "invalid_request_error", "model", "The model '%s' does not exist",
                                  json_string_value(json_object_get(req, "model")));
    if (!gr->has_seed) gr->seed = (uint64_t)time(NULL), gr->has_seed = 1; /* chosen here so that the log can say which */
    gen_req g = *gr;
    serve_audit_set(cs, "stream", json_boolean(g.stream));
    serve_audit_set(cs, "sampler", json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:i,s:i,s:b}", "temperature", g.temperature, "top_p",
                                       g.top_p, "presence_penalty", g.presence, "frequency_penalty", g.frequency,
                                       "max_tokens", (json_int_t)g.max_tokens, "seed", (json_int_t)g.seed, "stop",
                                       (int)g.n_stops, "logit_bias", g.n_bias, "json_schema", g.schema != NULL));
    owl_error err = {0};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    owl_status st;
    if (chat) {
        json_t *msgs = json_object_get(req, "messages");
        if (!json_is_array(msgs) || !json_array_size(msgs))
            return serve_send_error(c, 400, "invalid_request_error", "messages", "messages must be a non-empty array");
        size_t i; json_t *mm;
        json_array_foreach(msgs, i, mm) {
            json_t *role = json_object_get(mm, "role"), *content = json_object_get(mm, "content");
            if (!json_is_object(mm) || !json_is_string(role) || !(json_is_string(content) || json_is_null(content)))
                return serve_send_error(c, 400, "invalid_request_error", "messages",
                                  "messages[%zu] must be an object with a string role and string content", i);
        }
        char *mj = json_dumps(msgs, JSON_COMPACT);
        if (g.m->template_digest[0]) serve_audit_set(cs, "template_digest", json_string(g.m->template_digest));
        if (s->p.audit_content && cs->ev && mj) {
            if (strlen(mj) <= SERVE_AUDIT_TEXT_CAP) json_object_set(cs->ev, "messages", msgs);
            else serve_audit_content_text(cs->ev, "messages", mj, strlen(mj));
        }
        owl_chat_params cp = {0};
        cp.template_source = g.m->template_src;
        cp.messages_json = mj;
        cp.add_generation_prompt = 1;
        char *text = NULL;
        size_t tl = 0;
        st = mj ? owl_chat_render(g.m->model, &cp, &text, &tl, &err) : OWL_ERR_NOMEM;
        free(mj);
        if (!st) st = owl_tokenize_chat(g.m->tok, text, tl, &ids, &n_ids, &err);
        free(text);
    } else {
        json_t *p = json_object_get(req, "prompt");
        if (!json_is_string(p)) return serve_send_error(c, 400, "invalid_request_error", "prompt", "prompt must be a string");
        if (s->p.audit_content && cs->ev) serve_audit_content_text(cs->ev, "prompt", json_string_value(p), json_string_length(p));
        st = owl_tokenize(g.m->tok, json_string_value(p), json_string_length(p),
                          OWL_TOKENIZE_ADD_SPECIAL | OWL_TOKENIZE_PARSE_SPECIAL, &ids, &n_ids, &err);
    }
    if (st) { free(ids); return serve_send_error(c, 400, "invalid_request_error", NULL, "%s", err.message); }
    serve_audit_set(cs, "prompt_tokens", json_integer((json_int_t)n_ids));
    text_buf out = {0};
    owl_generate_result r = {0};
    if (g.stream) return start_stream(s, c, cs, req, chat, gr, ids, n_ids);
    st = generate(s, &g, ids, n_ids, serve_text_add, &out, &s->stop, &r, &err);
    free(ids);
    if (!st) {
        serve_audit_set(cs, "completion_tokens", json_integer((json_int_t)r.n_tokens));
        serve_audit_set(cs, "finish_reason", json_string(r.stop_reason));
        if (s->p.audit_content && cs->ev) serve_audit_content_text(cs->ev, "completion", out.p ? out.p : "", out.n);
    }
    if (st == OWL_ERR_NOMEM && strstr(err.message, "queue is full")) {
        free(out.p); free(r.tokens);
        return serve_send_error(c, 429, "rate_limit_error", NULL, "%s", err.message);
    }
    if (st) { free(out.p); free(r.tokens); return serve_send_error(c, 400, "invalid_request_error", NULL, "%s", err.message); }
    const char *text = out.p ? out.p : "";
    const char *fr = finish_reason(r.stop_reason);
    char id[64];
    snprintf(id, sizeof id, "%s-%s", chat ? "chatcmpl" : "cmpl", cs->id);
    json_t *usage = json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)r.n_prompt, "completion_tokens",
                              (json_int_t)r.n_tokens, "total_tokens", (json_int_t)(r.n_prompt + (int64_t)r.n_tokens));
    json_t *base = json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object",
                             chat ? "chat.completion" : "text_completion",
                             "created", (json_int_t)time(NULL), "model", g.m->name);
    (void)req;
    free(r.tokens);
    json_t *choice = chat ? json_pack("{s:i,s:{s:s,s:s},s:o,s:s}", "index", 0, "message", "role", "assistant",
                                      "content", text, "logprobs", json_null(), "finish_reason", fr)
                          : json_pack("{s:i,s:s,s:o,s:s}", "index", 0, "text", text, "logprobs", json_null(),
                                      "finish_reason", fr);
    free(out.p);
    json_object_set_new(base, "choices", json_pack("[o]", choice));
    json_object_set_new(base, "usage", usage);
    return serve_send_json(c, 200, base);
}

enum MHD_Result serve_route_generate(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int chat) {
    gen_req g = {0};
    const char *param = NULL;
    const char *bad = serve_validate_common(s, req, &g, &param);
    serve_audit_model(cs, json_object_get(req, "model"), g.m);
    if (bad) {
        owl_json_schema_free(g.schema);
        return serve_send_error(c, 400, "invalid_request_error", param, "%s%s%s", param ? param : "", param ? ": " : "", bad);
    }
    enum MHD_Result res = route_generate_valid(s, c, cs, req, chat, &g);
    owl_json_schema_free(g.schema);
    return res;
}
