/* test_json_schema.c: JSON-Schema-constrained output. The matcher on texts
 * known to be valid or not; then sampled generation on stories260K (which
 * never saw JSON) for several schemas and seeds: every output must parse
 * (jansson) and validate (checked here independently of the matcher, against
 * the schema's own JSON), and end because the value is complete. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "owl.h"

static owl_json_match *matcher(owl_json_schema *s) {
    owl_json_match *m = NULL;
    owl_error err = {0};
    CHECK(owl_json_match_new(s, &m, &err) == OWL_OK, "%s", err.message);
    return m;
}

/* 1: complete and valid, 0: rejected somewhere, 2: a valid prefix, not complete */
static int verdict(owl_json_schema *s, const char *text) {
    owl_json_match *m = matcher(s);
    int r = owl_json_match_feed(m, text, strlen(text)) ? (owl_json_match_complete(m) ? 1 : 2) : 0;
    owl_json_match_free(m);
    return r;
}

static owl_json_schema *compile(const char *json) {
    owl_json_schema *s = NULL;
    owl_error err = {0};
    CHECK(owl_json_schema_compile(json, &s, &err) == OWL_OK, "%s: %s", json, err.message);
    return s;
}

static void test_matcher(void) {
    owl_json_schema *s = compile("{\"type\": \"integer\"}");
    CHECK(verdict(s, "12") == 1 && verdict(s, "-7") == 1 && verdict(s, "0") == 1);
    CHECK(verdict(s, "1.5") == 0 && verdict(s, "01") == 0 && verdict(s, "\"1\"") == 0 && verdict(s, "-") == 2);
    owl_json_schema_free(s);
    s = compile("{\"type\": \"number\"}");
    CHECK(verdict(s, "1.5e-3") == 1 && verdict(s, "1.") == 2 && verdict(s, "1e") == 2 && verdict(s, ".5") == 0);
    owl_json_schema_free(s);
    s = compile("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}");
    CHECK(verdict(s, "\"ab\"") == 1 && verdict(s, "\"abc\"") == 1 && verdict(s, "\"a\"") == 0 && verdict(s, "\"abcd\"") == 0);
    CHECK(verdict(s, "\"\xc3\xa9t\xc3\xa9\"") == 1, "three characters in five bytes");
    CHECK(verdict(s, "\"a\x80\"") == 0 && verdict(s, "\"a\xed\xa0\x80\"") == 0 && verdict(s, "\"a\nb\"") == 0, "strict UTF-8, no raw controls");
    CHECK(verdict(s, "\"a\\\"\"") == 1 && verdict(s, "\"a\\q\"") == 0, "escapes");
    owl_json_schema_free(s);
    s = compile("{\"enum\": [\"red\", \"green\", 3, null]}");
    CHECK(verdict(s, "\"red\"") == 1 && verdict(s, "3") == 1 && verdict(s, "null") == 1 && verdict(s, "\"blue\"") == 0 &&
          verdict(s, "4") == 0);
    owl_json_schema_free(s);
    s = compile("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"boolean\"}, \"b\": {\"$ref\": \"#/$defs/pt\"}},"
                " \"$defs\": {\"pt\": {\"type\": \"array\", \"items\": {\"type\": [\"integer\", \"null\"]}, \"minItems\": 1, \"maxItems\": 2}}}");
    CHECK(verdict(s, "{\"a\":true,\"b\":[1,null]}") == 1 && verdict(s, "{ \"a\": false, \"b\": [ 2 ] }") == 1);
    CHECK(verdict(s, "{\"b\":[1],\"a\":true}") == 0 && verdict(s, "{\"a\":true}") == 0 && verdict(s, "{\"a\":true,\"b\":[]}") == 0 &&
          verdict(s, "{\"a\":true,\"b\":[1,2,3]}") == 0 && verdict(s, "{\"a\":1,\"b\":[1]}") == 0, "order, presence, bounds, types");
    CHECK(verdict(s, "{\"a\":true,\"b\":[1]} ") == 0, "nothing after the value");
    owl_json_schema_free(s);
    s = compile("{\"type\": \"array\", \"items\": {\"enum\": [1, 12, \"a\", \"a\"]}}");
    CHECK(verdict(s, "[1,12,1]") == 1 && verdict(s, "[12,1]") == 1 && verdict(s, "[\"a\"]") == 1 && verdict(s, "[123]") == 0,
          "literals that prefix one another, and duplicates");
    owl_json_schema_free(s);
    s = compile("{\"enum\": [1, 12]}");
    CHECK(verdict(s, "1") == 1 && verdict(s, "12") == 1 && verdict(s, "13") == 0);
    owl_json_schema_free(s);
    owl_error err = {0};
    owl_json_schema *bad = NULL;
    CHECK(owl_json_schema_compile("{\"$ref\": \"#/$defs/none\"}", &bad, &err) == OWL_ERR_INPUT && strstr(err.message, "$ref"), "%s", err.message);
    CHECK(owl_json_schema_compile("{\"type\": \"string\", \"maxLength\": -1}", &bad, &err) == OWL_ERR_INPUT, "%s", err.message);
    CHECK(owl_json_schema_compile("[1,", &bad, &err) == OWL_ERR_INPUT, "%s", err.message);
}

/* ---- an independent validator for the same subset ---- */
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static json_t *deref(json_t *root, json_t *sch) {
    json_t *ref = json_object_get(sch, "$ref");
    if (!json_is_string(ref)) return sch;
    return json_object_get(json_object_get(root, "$defs"), json_string_value(ref) + 8);
}

static int has_type(json_t *sch, const char *t) {
    json_t *ty = json_object_get(sch, "type");
    if (json_is_string(ty)) return !strcmp(json_string_value(ty), t) || (!strcmp(t, "integer") && !strcmp(json_string_value(ty), "number"));
    size_t i;
    json_t *x;
    json_array_foreach(ty, i, x) if (!strcmp(json_string_value(x), t)) return 1;
    return 0;
}

static int valid(json_t *root, json_t *sch, json_t *v) {
    sch = deref(root, sch);
    json_t *en = json_object_get(sch, "enum");
    if (en) {
        size_t i;
        json_t *x;
        json_array_foreach(en, i, x) if (json_equal(x, v)) return 1;
        return 0;
    }
    if (json_is_object(v)) {
        if (!has_type(sch, "object")) return 0;
        json_t *props = json_object_get(sch, "properties"), *req = json_object_get(sch, "required");
        size_t i;
        json_t *x;
        json_array_foreach(req, i, x) if (!json_object_get(v, json_string_value(x))) return 0;
        const char *k;
        json_object_foreach(v, k, x) {
            json_t *ps = json_object_get(props, k);
            if (!ps || !valid(root, ps, x)) return 0;
        }
        return 1;
    }
    if (json_is_array(v)) {
        if (!has_type(sch, "array")) return 0;
        json_t *mn = json_object_get(sch, "minItems"), *mx = json_object_get(sch, "maxItems");
        if ((mn && (json_int_t)json_array_size(v) < json_integer_value(mn)) || (mx && (json_int_t)json_array_size(v) > json_integer_value(mx)))
            return 0;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (!valid(root, json_object_get(sch, "items"), x)) return 0;
        return 1;
    }
    if (json_is_string(v)) {
        json_t *mn = json_object_get(sch, "minLength"), *mx = json_object_get(sch, "maxLength");
        size_t n = utf8_chars(json_string_value(v));
        return has_type(sch, "string") && (!mn || (json_int_t)n >= json_integer_value(mn)) && (!mx || (json_int_t)n <= json_integer_value(mx));
    }
    if (json_is_integer(v)) return has_type(sch, "integer") || has_type(sch, "number");
    if (json_is_real(v)) return has_type(sch, "number");
    if (json_is_boolean(v)) return has_type(sch, "boolean");
    if (json_is_null(v)) return has_type(sch, "null");
    return 0;
}

static const char *const SCHEMAS[] = {
    "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"maxLength\": 20}, \"age\": {\"type\": \"integer\"},"
    " \"happy\": {\"type\": \"boolean\"}, \"pet\": {\"enum\": [\"cat\", \"dog\", null]}}, \"required\": [\"name\", \"age\"]}",
    "{\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"minItems\": 2, \"maxItems\": 4}",
    "{\"$defs\": {\"point\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}, \"y\": {\"type\": \"integer\"}},"
    " \"required\": [\"x\", \"y\"]}}, \"type\": \"object\", \"properties\": {\"path\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/point\"},"
    " \"maxItems\": 3}, \"closed\": {\"type\": \"boolean\"}}, \"required\": [\"path\", \"closed\"]}",
    "{\"type\": [\"string\", \"null\"], \"minLength\": 1, \"maxLength\": 30}",
    "{\"type\": \"object\", \"properties\": {\"title\": {\"type\": \"string\"}, \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\","
    " \"maxLength\": 10}}, \"score\": {\"type\": \"number\"}, \"extra\": {\"type\": \"object\", \"properties\": {}}}}",
};

static void test_generation_stories260k(void) {
    owl_model *m = NULL;
    owl_engine *e = NULL;
    owl_tokenizer *tk = NULL;
    owl_token_trie *trie = NULL;
    owl_error err = {0};
    CHECK(owl_model_open(shared_path("models/stories260K/stories260K.gguf"), &m, &err) == OWL_OK, "%s", err.message);
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = 2;
    ep.n_ctx = 512;
    if (m && (owl_engine_new(m, &ep, &e, &err) || owl_tokenizer_new(m, &tk, &err) ||
              owl_token_trie_new(tk, owl_engine_n_vocab(e), &trie, &err)))
        CHECK(0, "%s", err.message);
    if (!trie) goto done;
    int64_t V = owl_engine_n_vocab(e);
    uint8_t *allowed = malloc((size_t)V);
    float *masked = malloc((size_t)V * sizeof *masked);
    int runs = 0, good = 0;
    for (size_t si = 0; si < sizeof SCHEMAS / sizeof SCHEMAS[0]; si++) {
        json_t *root = json_loads(SCHEMAS[si], 0, NULL);
        owl_json_schema *s = compile(SCHEMAS[si]);
        for (uint64_t seed = 1; s && seed <= 6; seed++, runs++) {
            owl_sampler_params sp = owl_sampler_default_params();
            sp.temperature = 1.0f;
            sp.seed = seed;
            owl_sampler *sm = NULL;
            owl_json_match *jm = matcher(s);
            CHECK(owl_sampler_new(&sp, V, &sm, &err) == OWL_OK);
            owl_engine_seq_drop(e, 0, 0, -1, &err);
            char out[4096];
            size_t n = 0;
            int32_t tok = 1, finished = 0;
            for (int step = 0; step < 480 && !finished; step++) {
                owl_batch b = {.n_tokens = 1, .tokens = &tok};
                if (owl_engine_decode(e, &b, &err)) break;
                const float *l = owl_engine_logits(e, 0);
                if (!owl_json_match_allowed(jm, trie, allowed)) break;
                for (int64_t v = 0; v < V; v++) masked[v] = allowed[v] ? l[v] : -INFINITY;
                tok = owl_sampler_sample(sm, masked);
                if (owl_token_is_eog(tk, tok)) {
                    finished = 1;
                    break;
                }
                size_t pl;
                const char *p = owl_token_piece(tk, tok, &pl);
                CHECK(owl_json_match_feed(jm, p, pl), "the matcher accepts what it allowed");
                if (n + pl < sizeof out) memcpy(out + n, p, pl), n += pl;
            }
            out[n] = '\0';
            json_error_t je;
            json_t *v = json_loads(out, JSON_DECODE_ANY, &je);
            int ok = finished && v && valid(root, root, v);
            CHECK(ok, "schema %zu seed %llu: %s (%s)", si, (unsigned long long)seed, out, v ? "does not validate" : je.text);
            good += ok;
            if (seed == 1) printf("  schema %zu, seed 1: %s\n", si, out);
            json_decref(v);
            owl_json_match_free(jm);
            owl_sampler_free(sm);
        }
        owl_json_schema_free(s);
        json_decref(root);
    }
    printf("  %d of %d constrained generations parse and validate\n", good, runs);
    free(allowed);
    free(masked);
done:
    owl_token_trie_free(trie);
    owl_tokenizer_free(tk);
    owl_engine_free(e);
    owl_model_close(m);
}

int main(void) {
    RUN(test_matcher);
    RUN(test_generation_stories260k);
    DONE("test_json_schema");
}
