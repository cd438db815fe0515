/* template.c: the public face of the chat-template interpreter: compile once,
 * render many times with a JSON context, within limits; and owl_chat_render,
 * which fills in what a model's own template expects (bos/eos tokens). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "template/interp.h"

#define MAX_TEMPLATE_BYTES (4u << 20)
#define DEFAULT_STEPS 10000000ull
#define DEFAULT_DEPTH 200u
#define DEFAULT_OUTPUT (16ull << 20)

struct owl_template {
    arena mem;     /* the syntax tree and its strings */
    jprogram *prog;
    char name[128];
};

static void ctx_init(jctx *c, const char *name, owl_error *err) {
    memset(c, 0, sizeof *c);
    c->err = err;
    c->name = name;
    c->max_steps = DEFAULT_STEPS;
    c->max_depth = DEFAULT_DEPTH;
    c->max_output = DEFAULT_OUTPUT;
    c->mem.cap = 256ull << 20;
}

owl_status owl_template_compile(const char *source, size_t len, const char *name, owl_template **out,
                                owl_error *err) {
    *out = NULL;
    if (!name) name = "template";
    if (!source) return owl_fail(err, OWL_ERR_USAGE, "%s: no template source", name);
    if (len > MAX_TEMPLATE_BYTES)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %zu bytes, more than the %u a template may have", name, len,
                        MAX_TEMPLATE_BYTES);
    if (!owl_utf8_valid(source, len)) return owl_fail(err, OWL_ERR_INPUT, "%s: not valid UTF-8", name);
    owl_template *t = calloc(1, sizeof *t);
    if (!t) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", name);
    snprintf(t->name, sizeof t->name, "%s", name);
    /* volatile: read after longjmp */
    jctx *volatile c = malloc(sizeof *c);
    if (!c) {
        free(t);
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", name);
    }
    ctx_init(c, t->name, err);
    c->max_output = MAX_TEMPLATE_BYTES * 4ull;
    if (setjmp(c->fail)) {
        arena_free(&c->mem);
        free(c);
        free(t);
        return OWL_ERR_INPUT;
    }
    t->prog = jparse(c, source, len);
    t->mem = c->mem;
    free(c);
    *out = t;
    return OWL_OK;
}

void owl_template_free(owl_template *t) {
    if (!t) return;
    arena_free(&t->mem);
    free(t);
}

/* ---- JSON context to values ---------------------------------------------------------- */

/* Keys that are array indices ("0", "7", not "07"): JavaScript objects list them first, in order. */
static int index_key(const char *k, size_t n, uint32_t *idx) {
    if (n == 0 || n > 10 || (n > 1 && k[0] == '0')) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9') return 0;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (v >= 0xFFFFFFFFull) return 0;
    *idx = (uint32_t)v;
    return 1;
}

static value from_json(jctx *c, json_t *j, unsigned depth) {
    if (depth > 4096) jfail(c, "context nested too deeply");
    switch (json_typeof(j)) {
    case JSON_NULL: return v_null();
    case JSON_TRUE: return v_bool(1);
    case JSON_FALSE: return v_bool(0);
    case JSON_INTEGER: return v_int((double)json_integer_value(j));
    case JSON_REAL: {
        double x = json_real_value(j);
        return x == (double)(int64_t)x ? v_int(x) : v_float(x);
    }
    case JSON_STRING: return v_str(c, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        value out = v_list(c, V_ARRAY, n);
        for (size_t i = 0; i < n; i++) list_push(c, out, from_json(c, json_array_get(j, i), depth + 1));
        return out;
    }
    case JSON_OBJECT: {
        value out = v_dict(c, V_OBJECT);
        size_t n = json_object_size(j), n_idx = 0;
        const char **ik = n ? jalloc(c, n * sizeof *ik) : NULL;
        uint32_t *iv = n ? jalloc(c, n * sizeof *iv) : NULL;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val) {
            uint32_t idx;
            if (index_key(key, strlen(key), &idx)) {
                size_t at = n_idx++;
                while (at > 0 && iv[at - 1] > idx) { /* insertion sort: indices ascending */
                    iv[at] = iv[at - 1];
                    ik[at] = ik[at - 1];
                    at--;
                }
                iv[at] = idx;
                ik[at] = key;
            }
        }
        for (size_t i = 0; i < n_idx; i++) {
            size_t kl = strlen(ik[i]);
            dict_set(c, out.u.dict, v_str(c, ik[i], kl).u.str.s, kl, from_json(c, json_object_get(j, ik[i]), depth + 1));
        }
        json_object_foreach(j, key, val) {
            uint32_t idx;
            size_t kl = strlen(key);
            if (index_key(key, kl, &idx)) continue;
            dict_set(c, out.u.dict, v_str(c, key, kl).u.str.s, kl, from_json(c, val, depth + 1));
        }
        return out;
    }
    }
    return v_undef();
}

owl_status owl_template_render(const owl_template *t, const char *context_json, const owl_template_limits *lim,
                               char **out, size_t *out_len, owl_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    json_error_t je;
    json_t *ctxj = json_loads(context_json ? context_json : "{}", JSON_REJECT_DUPLICATES, &je);
    if (!ctxj) return owl_fail(err, OWL_ERR_INPUT, "%s: render context: %s (line %d)", t->name, je.text, je.line);
    if (!json_is_object(ctxj)) {
        json_decref(ctxj);
        return owl_fail(err, OWL_ERR_INPUT, "%s: the render context must be a JSON object", t->name);
    }
    jctx *volatile c = malloc(sizeof *c);
    if (!c) {
        json_decref(ctxj);
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", t->name);
    }
    ctx_init(c, t->name, err);
    if (lim && lim->max_steps) c->max_steps = lim->max_steps;
    if (lim && lim->max_depth) c->max_depth = lim->max_depth;
    if (lim && lim->max_output) c->max_output = lim->max_output;
    if (c->max_output * 16 > c->mem.cap) c->mem.cap = c->max_output * 16;
    if (setjmp(c->fail)) {
        arena_free(&c->mem);
        free(c);
        json_decref(ctxj);
        return OWL_ERR_INPUT;
    }
    jenv *g = env_new(c, NULL);
    install_globals(c, g);
    c->globals = g;
    const char *key;
    json_t *val;
    json_object_foreach(ctxj, key, val) {
        size_t kl = strlen(key);
        for (size_t i = 0; i < g->n; i++)
            if (g->nlen[i] == kl && !memcmp(g->names[i], key, kl)) jfail(c, "Variable already declared: %s", key);
        env_set(c, g, v_str(c, key, kl).u.str.s, kl, from_json(c, val, 0));
    }
    strbuf text = {0};
    sb_put(c, &text, "", 0);
    jexec_block(c, &t->prog->body, g, &text);
    if (c->ctl) jfail(c, "{%% %s %%} outside a loop", c->ctl == CTL_BREAK ? "break" : "continue");
    char *r = malloc(text.n + 1);
    if (!r) jfail(c, "out of memory");
    memcpy(r, text.s, text.n + 1);
    *out = r;
    if (out_len) *out_len = text.n;
    arena_free(&c->mem);
    free(c);
    json_decref(ctxj);
    return OWL_OK;
}

/* ---- conversations with a model's template ---------------------------------------------- */

static const char *special_text(const owl_model *m, const char *role, owl_tokenizer **tk) {
    const owl_tokenizer_info *ti = &owl_model_get_info(m)->tokenizer;
    for (size_t i = 0; i < ti->n_special; i++) {
        if (strcmp(ti->special[i].role, role)) continue;
        if (ti->special[i].text) return ti->special[i].text;
        if (!*tk && owl_tokenizer_new(m, tk, NULL)) return NULL;
        size_t len;
        return owl_token_text(*tk, (int32_t)ti->special[i].id, &len);
    }
    return NULL;
}

static owl_status add_json_var(json_t *ctx, const char *name, const char *text, const char *what, owl_error *err) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) return owl_fail(err, OWL_ERR_INPUT, "%s: %s (line %d, column %d)", what, je.text, je.line, je.column);
    json_object_set_new(ctx, name, v);
    return OWL_OK;
}

owl_status owl_chat_render(const owl_model *m, const owl_chat_params *p, char **out, size_t *out_len,
                           owl_error *err) {
    *out = NULL;
    const char *src = p->template_source;
    if (!src && m) src = owl_model_get_info(m)->chat_template;
    if (!src)
        return owl_fail(err, OWL_ERR_INPUT,
                        "the model has no chat template: give one (owl template --template FILE.jinja)");
    json_t *ctx = json_object();
    owl_tokenizer *tk = NULL;
    owl_status st = OWL_OK;
    if (p->extra_json) {
        json_error_t je;
        json_t *extra = json_loads(p->extra_json, JSON_REJECT_DUPLICATES, &je);
        if (!extra || !json_is_object(extra)) {
            json_decref(extra);
            st = owl_fail(err, OWL_ERR_INPUT, "extra template variables: expected a JSON object");
            goto done;
        }
        json_object_update(ctx, extra);
        json_decref(extra);
    }
    if ((st = add_json_var(ctx, "messages", p->messages_json ? p->messages_json : "[]", "messages", err))) goto done;
    if (!json_is_array(json_object_get(ctx, "messages"))) {
        st = owl_fail(err, OWL_ERR_INPUT, "messages: expected a JSON array of {\"role\", \"content\"} objects");
        goto done;
    }
    if (p->tools_json && (st = add_json_var(ctx, "tools", p->tools_json, "tools", err))) goto done;
    json_object_set_new(ctx, "add_generation_prompt", json_boolean(p->add_generation_prompt));
    const char *bos = p->bos_token ? p->bos_token : m ? special_text(m, "bos", &tk) : NULL;
    const char *eos = p->eos_token ? p->eos_token : m ? special_text(m, "eos", &tk) : NULL;
    if (bos) json_object_set_new(ctx, "bos_token", json_string(bos));
    if (eos) json_object_set_new(ctx, "eos_token", json_string(eos));
    char *cj = json_dumps(ctx, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!cj) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto done;
    }
    owl_template *t;
    st = owl_template_compile(src, strlen(src), "chat template", &t, err);
    if (!st) {
        st = owl_template_render(t, cj, p->limits, out, out_len, err);
        owl_template_free(t);
    }
    free(cj);
done:
    owl_tokenizer_free(tk);
    json_decref(ctx);
    return st;
}
