/* tokenize.c: POST /tokenize and /detokenize with the model's tokenizer. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "serve/server.h"

enum MHD_Result serve_route_tokenize(owl_server *s, struct MHD_Connection *c, conn_state *cs, json_t *req, int detok) {
    json_t *mn = json_object_get(req, "model");
    if (!json_is_object(req) || !json_is_string(mn))
        return serve_send_error(c, 400, "invalid_request_error", "model", "model must be a string");
    serve_model *m = serve_find_model(s, json_string_value(mn));
    serve_audit_model(cs, mn, m);
    if (!m) return serve_send_error(c, 404, "invalid_request_error", "model", "The model '%s' does not exist", json_string_value(mn));
    owl_error err = {0};
    if (!detok) {
        json_t *t = json_object_get(req, "content");
        if (!json_is_string(t)) return serve_send_error(c, 400, "invalid_request_error", "content", "content must be a string");
        int32_t *ids = NULL;
        size_t n = 0;
        if (owl_tokenize(m->tok, json_string_value(t), json_string_length(t), OWL_TOKENIZE_PARSE_SPECIAL, &ids, &n, &err)) {
            free(ids);
            return serve_send_error(c, 400, "invalid_request_error", "content", "%s", err.message);
        }
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
        free(ids);
        return serve_send_json(c, 200, json_pack("{s:o}", "tokens", a));
    }
    json_t *a = json_object_get(req, "tokens");
    if (!json_is_array(a) || json_array_size(a) > (1u << 20))
        return serve_send_error(c, 400, "invalid_request_error", "tokens", "tokens must be an array of integers");
    size_t n = json_array_size(a);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return MHD_NO;
    int64_t nv = owl_engine_n_vocab(m->eng);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= nv) {
            free(ids);
            return serve_send_error(c, 400, "invalid_request_error", "tokens", "tokens[%zu] must be an id from 0 to %lld", i, (long long)nv - 1);
        }
        ids[i] = (int32_t)json_integer_value(x);
    }
    char *text = NULL;
    size_t tl = 0;
    owl_status st = owl_detokenize(m->tok, ids, n, 0, &text, &tl, &err);
    free(ids);
    if (st) return serve_send_error(c, 400, "invalid_request_error", "tokens", "%s", err.message);
    json_t *o = json_pack("{s:s%}", "content", text, tl);
    free(text);
    return serve_send_json(c, 200, o);
}
