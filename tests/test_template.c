/* test_template.c: the chat-template interpreter's own guarantees: hostile
 * templates stop within their limits with a clear message, syntax errors say
 * where, and the library calls behave. Rendering itself is checked against
 * @huggingface/jinja in tests/cli/template_conformance.sh; the few expected
 * strings here are the reference's outputs, noted where they differ from
 * Python's Jinja. */
#include <stdint.h>
#include <time.h>

#include "harness.h"
#include "owl.h"

static char *render(const char *src, const char *ctx, const owl_template_limits *lim, owl_error *err) {
    owl_template *t = NULL;
    char *out = NULL;
    memset(err, 0, sizeof *err);
    if (owl_template_compile(src, strlen(src), "test", &t, err)) return NULL;
    size_t len = 0;
    if (owl_template_render(t, ctx ? ctx : "{}", lim, &out, &len, err)) out = NULL;
    else if (strlen(out) != len) {
        free(out);
        out = NULL;
    }
    owl_template_free(t);
    return out;
}

static void expect_render(const char *src, const char *ctx, const char *want) {
    owl_error err;
    char *out = render(src, ctx, NULL, &err);
    CHECK(out && !strcmp(out, want), "%s -> got '%s' (%s), want '%s'", src, out ? out : "(error)", err.message, want);
    free(out);
}

static void expect_error(const char *src, const char *ctx, const owl_template_limits *lim, const char *needle) {
    owl_error err;
    clock_t t0 = clock();
    char *out = render(src, ctx, lim, &err);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(!out, "%s rendered '%s', want an error", src, out ? out : "");
    CHECK(err.status == OWL_ERR_INPUT, "%s: status %d", src, err.status);
    CHECK(strstr(err.message, needle), "%s: message '%s' lacks '%s'", src, err.message, needle);
    CHECK(secs < 10, "%s: took %.1f s to fail", src, secs);
    free(out);
}

static void test_basic_rendering(void) {
    expect_render("Hello {{ name }}!", "{\"name\": \"owl\"}", "Hello owl!");
    expect_render("{% for m in messages %}[{{ m.role }}] {{ m['content'] }}\n{% endfor %}",
                  "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}",
                  "[user] a\n[assistant] b\n");
    /* trim_blocks and lstrip_blocks, as apply_chat_template sets them */
    expect_render("  {% if true %}\nyes\n  {% endif %}\nend", NULL, "yes\nend");
    /* one trailing newline of the template is dropped */
    expect_render("x\n", NULL, "x");
    expect_render("a  {{- ' b ' -}}  c", NULL, "a b c");
    expect_render("{# note #}{{ 1 + 2 }}", NULL, "3");
}

static void test_reference_semantics(void) {
    /* the reference prints booleans the JavaScript way and none as nothing */
    expect_render("{{ true }} {{ none }}|{{ 1.0 }} {{ 2.5 }} {{ 7 // 2 }} {{ 7 / 2 }}", NULL, "true |1.0 2.5 3 3.5");
    expect_render("{{ [1, 'a', none] }} {{ {'k': 'v'} | tojson }}", NULL, "[1, \"a\", null] {\"k\": \"v\"}");
    expect_render("{{ {'a': [1, {'b': 2}]} | tojson(indent=2) }}", NULL, "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ]\n}");
    expect_render("{{ 'é' | tojson }} {{ 'é' | tojson(ensure_ascii=true) }}", NULL, "\"é\" \"\\u00e9\"");
    /* strip ignores its argument in the reference */
    expect_render("{{ '\\n x \\n'.strip('\\n') }}|{{ 'a-b'.split('-') | join('+') }}", NULL, "x|a+b");
    expect_render("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
                  NULL, "6");
    expect_render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m('x') }}{{ m('y', b='z') }}", NULL, "xByz");
    expect_render("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", NULL, "13");
    expect_render("{{ 'abc'[::-1] }}{{ [1, 2, 3][1:] | length }}{{ 'hello world' | title }}", NULL, "cba2Hello World");
    expect_render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}", NULL,
                  "a=1,b=2");
    expect_render("{{ x is defined }}{{ x | default('d') }}{{ none is none }}", NULL, "falsedtrue");
    /* keys that are array indices come first, as in a JavaScript object */
    expect_render("{% for k in d %}{{ k }}{% endfor %}", "{\"d\": {\"b\": 1, \"2\": 1, \"1\": 1}}", "12b");
}

static void test_errors_are_clear(void) {
    expect_error("{{ raise_exception('no system role here') }}", NULL, NULL, "no system role here");
    expect_error("{% if x %}never closed", NULL, NULL, "endif");
    expect_error("{% frobnicate %}", NULL, NULL, "unknown statement");
    expect_error("{{ 'unterminated }}", NULL, NULL, "string literal");
    expect_error("{{ x | nosuchfilter }}", "{\"x\": \"s\"}", NULL, "nosuchfilter");
    expect_error("{{ x is nosuchtest }}", NULL, NULL, "Unknown test");
    expect_error("{% break %}", NULL, NULL, "outside a loop");
    expect_error("{{ 1 }}", "[1, 2]", NULL, "JSON object");
    expect_error("{{ 1 }}", "{\"true\": 1}", NULL, "already declared");
    owl_template *t = NULL;
    owl_error err;
    CHECK(owl_template_compile("\xff\xfe", 2, "bad.jinja", &t, &err) == OWL_ERR_INPUT && !t);
    CHECK(strstr(err.message, "bad.jinja") && strstr(err.message, "UTF-8"), "%s", err.message);
}

static void test_hostile_templates(void) {
    owl_template_limits lim = {200000, 64, 1u << 20};
    /* endless loops: a huge range, and nested loops */
    expect_error("{% for i in range(100000000000) %}x{% endfor %}", NULL, &lim, "steps");
    expect_error("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
                 NULL, &lim, "steps");
    /* unbounded recursion */
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, &lim, "nesting deeper");
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, NULL, "nesting deeper");
    /* output that doubles every step */
    expect_error("{% set s = 'xxxxxxxx' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}{{ s }}", NULL, &lim,
                 "output limit");
    expect_error("{% for i in range(100000) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{{ 'a' ~ i ~ 'bcdefghijklmn' }}{% endfor %}",
                 NULL, &(owl_template_limits){0, 0, 1000}, "output limit");
    /* deep nesting in the source */
    char deep[20000];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 5000; i++) deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 5000; i++) deep[k++] = ')';
    snprintf(deep + k, sizeof deep - k, " }}");
    expect_error(deep, NULL, NULL, "nested too deeply");
    k = 0;
    for (int i = 0; i < 1500; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "{%% if 1 %%}");
    expect_error(deep, NULL, NULL, "nested too deeply");
    /* deep values in the context do not crash the printer */
    char ctx[8200];
    k = (size_t)snprintf(ctx, sizeof ctx, "{\"v\": ");
    for (int i = 0; i < 1000; i++) ctx[k++] = '[';
    for (int i = 0; i < 1000; i++) ctx[k++] = ']';
    snprintf(ctx + k, sizeof ctx - k, "}");
    expect_error("{{ v }}", ctx, NULL, "nested deeper");
    /* a hostile template must not be able to read files or the environment: no such names exist */
    expect_render("{{ open }}{{ os }}{{ self }}{{ config }}{{ cycler }}", NULL, "");
}

static void test_chat_render_with_model(void) {
    owl_model *m = NULL;
    owl_error err;
    CHECK(owl_model_open(shared_path("models/stories260K/stories260K.gguf"), &m, &err) == OWL_OK, "%s", err.message);
    if (!m) return;
    owl_chat_params p = {0};
    p.template_source = "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}";
    p.messages_json = "[{\"role\": \"user\", \"content\": \"Hi\"}]";
    char *out = NULL;
    size_t len = 0;
    CHECK(owl_chat_render(m, &p, &out, &len, &err) == OWL_OK, "%s", err.message);
    CHECK(out && !strcmp(out, "<s>Hi</s>"), "got '%s'", out ? out : "");
    free(out);
    /* stories260K has no template of its own: the error says what to do */
    p.template_source = NULL;
    out = NULL;
    CHECK(owl_chat_render(m, &p, &out, &len, &err) == OWL_ERR_INPUT && !out);
    CHECK(strstr(err.message, "no chat template") && strstr(err.message, "--template"), "%s", err.message);
    p.template_source = "x";
    p.messages_json = "{\"role\": \"user\"}";
    CHECK(owl_chat_render(m, &p, &out, &len, &err) == OWL_ERR_INPUT && strstr(err.message, "array"), "%s", err.message);
    owl_model_close(m);
}

int main(void) {
    RUN(test_basic_rendering);
    RUN(test_reference_semantics);
    RUN(test_errors_are_clear);
    RUN(test_hostile_templates);
    RUN(test_chat_render_with_model);
    DONE("test_template");
}
