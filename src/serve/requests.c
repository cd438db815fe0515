/* requests.c: validation of a completion request's fields, each type and
 * range checked (unknown fields tolerated, as OpenAI does), shared with the
 * fuzz harness through serve_validate_request. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"
#include "serve/serve.h"

const char *serve_validate_common(owl_server *s, json_t *req, gen_req *g, const char **param) {
    json_t *v;
    g->max_tokens = 16; g->temperature = 1.0; g->top_p = 1.0;
    if (!json_is_object(req)) return "the body must be a JSON object";
    v = json_object_get(req, "model");
    *param = "model";
    if (!json_is_string(v)) return "model must be a string";
    g->m = serve_find_model(s, json_string_value(v));
    const char *keys[] = {"max_tokens", "max_completion_tokens"};
    for (int k = 0; k < 2; k++) {
        if (!(v = json_object_get(req, keys[k])) || json_is_null(v)) continue;
        *param = keys[k];
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20)
            return "must be an integer from 0 to 1048576";
        g->max_tokens = json_integer_value(v);
    }
    struct { const char *k; double *dst, lo, hi; } nums[] = {
        {"temperature", &g->temperature, 0, 2}, {"top_p", &g->top_p, 0, 1},
        {"presence_penalty", &g->presence, -2, 2}, {"frequency_penalty", &g->frequency, -2, 2}};
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        if (!(v = json_object_get(req, nums[k].k)) || json_is_null(v)) continue;
        *param = nums[k].k;
        if (!json_is_number(v)) return "must be a number";
        double x = json_number_value(v);
        if (!(x >= nums[k].lo && x <= nums[k].hi)) return "is out of range";
        *nums[k].dst = x;
    }
    if ((v = json_object_get(req, "seed")) && !json_is_null(v)) {
        *param = "seed";
        if (!json_is_integer(v)) return "seed must be an integer";
        g->seed = (uint64_t)json_integer_value(v);
        g->has_seed = 1;
    }
    if ((v = json_object_get(req, "stream")) && !json_is_null(v)) {
        *param = "stream";
        if (!json_is_boolean(v)) return "stream must be a boolean";
        g->stream = json_is_true(v);
    }
    if ((v = json_object_get(req, "n")) && !json_is_null(v)) {
        *param = "n";
        if (!json_is_integer(v) || json_integer_value(v) != 1) return "n must be 1 (for now)";
    }
    if ((v = json_object_get(req, "stop")) && !json_is_null(v)) {
        *param = "stop";
        if (json_is_string(v)) {
            g->stops[g->n_stops++] = json_string_value(v);
        } else if (json_is_array(v) && json_array_size(v) <= MAX_STOPS) {
            size_t i; json_t *x;
            json_array_foreach(v, i, x) {
                if (!json_is_string(x) || !json_string_length(x)) return "stop must be a string or up to 4 non-empty strings";
                g->stops[g->n_stops++] = json_string_value(x);
            }
        } else {
            return "stop must be a string or up to 4 strings";
        }
    }
    if ((v = json_object_get(req, "logit_bias")) && !json_is_null(v)) {
        *param = "logit_bias";
        if (!json_is_object(v) || json_object_size(v) > MAX_BIAS) return "logit_bias must be an object of at most 300 token ids";
        const char *k; json_t *x;
        json_object_foreach(v, k, x) {
            char *end;
            long id = strtol(k, &end, 10);
            if (!*k || *end || id < 0 || id > INT32_MAX || !json_is_number(x) || json_number_value(x) < -100 ||
                json_number_value(x) > 100)
                return "logit_bias maps token ids to numbers from -100 to 100";
            g->bias[g->n_bias].token = (int32_t)id;
            g->bias[g->n_bias].bias = json_number_value(x) <= -100 ? -INFINITY : (float)json_number_value(x);
            g->n_bias++;
        }
    }
    if ((v = json_object_get(req, "response_format")) && !json_is_null(v)) {
        *param = "response_format";
        json_t *t = json_object_get(v, "type");
        if (!json_is_object(v) || !json_is_string(t)) return "response_format must be an object with a string type";
        const char *ty = json_string_value(t);
        char *schema = NULL;
        if (!strcmp(ty, "json_schema")) {
            json_t *js = json_object_get(v, "json_schema"), *sc = json_object_get(js, "schema");
            if (!json_is_object(js) || !json_is_object(sc)) return "response_format.json_schema.schema must be an object";
            schema = json_dumps(sc, JSON_COMPACT);
        } else if (!strcmp(ty, "json_object")) {
            schema = strdup("{\"type\":\"object\"}");
        } else if (strcmp(ty, "text")) {
            return "response_format.type must be text, json_object or json_schema";
        }
        if (schema) {
            owl_status st = owl_json_schema_compile(schema, &g->schema, NULL);
            free(schema);
            if (st) return "the schema cannot be compiled (unsupported or malformed)";
        }
    }
    *param = NULL;
    return NULL;
}

int serve_validate_request(const char *body, size_t len, char *msg, size_t cap) {
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) { snprintf(msg, cap, "malformed JSON: %s", je.text); return 0; }
    owl_server none;
    memset(&none, 0, sizeof none);
    gen_req g;
    memset(&g, 0, sizeof g);
    const char *param = NULL;
    const char *bad = serve_validate_common(&none, req, &g, &param);
    owl_json_schema_free(g.schema);
    json_decref(req);
    if (bad) snprintf(msg, cap, "%s: %s", param ? param : "body", bad);
    return bad == NULL;
}
