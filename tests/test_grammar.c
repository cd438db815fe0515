/* test_grammar.c: GBNF and regex constraints. The parser on good and bad
 * grammars (exact messages), the matcher on texts known to match or not, the
 * trie-walked allowed set against a brute-force check of every token, and
 * constrained generation on stories260K whose every output the grammar (or,
 * for regexes, Oniguruma) accepts. */
#include <math.h>
#include <oniguruma.h>
#include <stdint.h>

#include "harness.h"
#include "owl.h"

static owl_grammar *gbnf(const char *src) {
    owl_grammar *g = NULL;
    owl_error err = {0};
    CHECK(owl_grammar_compile_gbnf(src, strlen(src), &g, &err) == OWL_OK, "%s: %s", src, err.message);
    return g;
}

static owl_grammar *regex(const char *re) {
    owl_grammar *g = NULL;
    owl_error err = {0};
    CHECK(owl_grammar_compile_regex(re, strlen(re), &g, &err) == OWL_OK, "%s: %s", re, err.message);
    return g;
}

/* 1: complete match, 0: rejected, 2: a viable prefix only */
static int verdict(const owl_grammar *g, const char *text) {
    owl_grammar_match *m = NULL;
    owl_error err = {0};
    if (!g || owl_grammar_match_new(g, &m, &err)) return -1;
    int r = owl_grammar_match_feed(m, text, strlen(text)) ? (owl_grammar_match_complete(m) ? 1 : 2) : 0;
    owl_grammar_match_free(m);
    return r;
}

static void expect_error(const char *src, const char *msg) {
    owl_grammar *g = NULL;
    owl_error err = {0};
    owl_status s = owl_grammar_compile_gbnf(src, strlen(src), &g, &err);
    CHECK(s == OWL_ERR_INPUT && !strcmp(err.message, msg), "%s -> [%s], want [%s]", src, err.message, msg);
    owl_grammar_free(g);
}

static void test_parser_errors(void) {
    expect_error("root ::= foo", "grammar:1:10: undefined rule 'foo'");
    expect_error("a ::= \"x\"", "grammar: no 'root' rule (the start rule must be named root)");
    expect_error("root ::= root \"a\" | \"b\"", "grammar: left recursion through rule 'root' (a rule may not start with itself)");
    expect_error("root ::= a\na ::= b? root \"x\"\nb ::= \"y\"", "grammar: left recursion through rule 'root' (a rule may not start with itself)");
    expect_error("root ::= \"abc", "grammar:1:10: unterminated string literal (expected '\"')");
    expect_error("root ::= [a-z", "grammar:1:10: unterminated character class (expected ']')");
    expect_error("root ::= (\"a\" | \"b\"", "grammar:1:10: unclosed group (expected ')')");
    expect_error("root ::= * \"a\"", "grammar:1:10: expected an item before '*'");
    expect_error("root ::= \"a\"{2,1}", "grammar:1:13: repetition {m,n} with n below m");
    expect_error("root ::= \"a\"{1001}", "grammar:1:13: repetition count over 1000");
    expect_error("root ::= \"a\"{2", "grammar:1:15: expected '}' to close the repetition");
    expect_error("root \"a\"", "grammar:1:6: expected '::=' after 'root'");
    expect_error("root ::= \"a\"\nroot ::= \"b\"", "grammar:2:1: rule 'root' defined twice");
    expect_error("root ::= \"\\q\"", "grammar:1:11: unknown escape '\\q'");
    expect_error("root ::= \"\\x4\"", "grammar:1:11: expected 2 hex digits after the escape");
    expect_error("root ::= [z-a]", "grammar:1:10: character range out of order (its end is below its start)");
    expect_error("root ::= \"a\" ; \"b\"", "grammar:1:14: unexpected ';' (expected a literal, class, rule name, group or '|')");
    expect_error("::= \"a\"", "grammar:1:1: expected a rule name, found ':'");
    /* hostile sizes stop with an error */
    char deep[400] = "root ::= ";
    for (int i = 0; i < 70; i++) strcat(deep, "(");
    expect_error(deep, "grammar:1:74: groups nested too deeply (more than 64)");
    char big[400];
    snprintf(big, sizeof big, "root ::= \"%0100d\"{1000} \"%0100d\"{1000} \"%0100d\"{1000}", 1, 2, 3);
    expect_error(big, "grammar:1:336: grammar too large (more than 262144 elements after expanding repetitions)");
    expect_error("my_rule ::= \"a\"", "grammar:1:3: expected '::=' after 'my'"); /* names are [a-zA-Z0-9-], as in llama.cpp */
    owl_grammar *g = NULL;
    owl_error err = {0};
    /* exponentially ambiguous: the expansion budget ends it with an error, at once */
    const char *amb = "root ::= (\"\" | \"\" | \"x\"){0,500} \"y\"";
    CHECK(owl_grammar_compile_gbnf(amb, strlen(amb), &g, &err) == OWL_OK, "%s", err.message);
    owl_grammar_match *gm = NULL;
    CHECK(g && owl_grammar_match_new(g, &gm, &err) == OWL_ERR_INPUT && strstr(err.message, "too ambiguous"), "%s", err.message);
    owl_grammar_match_free(gm);
    owl_grammar_free(g);
    g = gbnf("root ::= \"\"+ \"a\"");
    CHECK(verdict(g, "a") == 1);
    owl_grammar_free(g);
    g = NULL;
    CHECK(owl_grammar_compile_regex("a(b", 3, &g, &err) == OWL_ERR_INPUT && !strcmp(err.message, "regex:4: unclosed group (expected ')')"), "%s", err.message);
    CHECK(owl_grammar_compile_regex("a^b", 3, &g, &err) == OWL_ERR_INPUT && strstr(err.message, "regex:2: anchors"), "%s", err.message);
    CHECK(owl_grammar_compile_regex("*a", 2, &g, &err) == OWL_ERR_INPUT && !strcmp(err.message, "regex:1: nothing to repeat"), "%s", err.message);
    CHECK(owl_grammar_compile_regex("a\\1", 3, &g, &err) == OWL_ERR_INPUT && strstr(err.message, "regex:2: unsupported escape"), "%s", err.message);
}

static const char JSON_GBNF[] =
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "\n"
    "object ::=\n"
    "  \"{\" ws (\n"
    "            string \":\" ws value\n"
    "    (\",\" ws string \":\" ws value)*\n"
    "  )? \"}\" ws\n"
    "\n"
    "array  ::=\n"
    "  \"[\" ws (\n"
    "            value\n"
    "    (\",\" ws value)*\n"
    "  )? \"]\" ws\n"
    "\n"
    "string ::=\n"
    "  \"\\\"\" (\n"
    "    [^\"\\\\\\x7F\\x00-\\x1F] |\n"
    "    \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4}) # escapes\n"
    "  )* \"\\\"\" ws\n"
    "\n"
    "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
    "\n"
    "# Optional space: by convention, applied in this grammar after literal chars when allowed\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";

static const char ARITH_GBNF[] =
    "root  ::= (expr \"=\" ws term \"\\n\")+\n"
    "expr  ::= term ([-+*/] term)*\n"
    "term  ::= ident | num | \"(\" ws expr \")\" ws\n"
    "ident ::= [a-z] [a-z0-9_]* ws\n"
    "num   ::= [0-9]+ ws\n"
    "ws    ::= [ \\t\\n]*\n";

static void test_matcher(void) {
    owl_grammar *g = gbnf(JSON_GBNF);
    CHECK(verdict(g, "{}") == 1 && verdict(g, "{\"a\": [1, 2.5e3, true, null, \"x\\u00e9\"]}") == 1);
    CHECK(verdict(g, "{\n  \"k\": {\"n\": -0.5}\n}") == 1 && verdict(g, "{\"s\": \"caf\xc3\xa9\"}") == 1);
    CHECK(verdict(g, "{\"a\": }") == 0 && verdict(g, "[1]") == 0 && verdict(g, "{\"a\" 1}") == 0 && verdict(g, "{\"a\": 01}") == 0);
    CHECK(verdict(g, "{\"a\": [1,") == 2 && verdict(g, "{\"a\": \"\x01\"}") == 0 && verdict(g, "{\"a\": tru") == 2);
    owl_grammar_free(g);
    g = gbnf(ARITH_GBNF);
    CHECK(verdict(g, "1+2=3\n") == 1 && verdict(g, "(a +b) *c = d\nx=1\n") == 1 && verdict(g, "1+=2\n") == 0);
    CHECK(verdict(g, "((1))=2\n") == 1 && verdict(g, "(1=2\n") == 0 && verdict(g, "1=2") == 2);
    owl_grammar_free(g);
    g = gbnf("root ::= \"a\"{2,4} \"b\"{3} \"c\"{2,} \"d\"?");
    CHECK(verdict(g, "aabbbcc") == 1 && verdict(g, "aaaabbbccccd") == 1 && verdict(g, "abbbcc") == 0 && verdict(g, "aaaaabbbcc") == 0);
    CHECK(verdict(g, "aabbcc") == 0 && verdict(g, "aabbbc") == 2 && verdict(g, "aabbbccdd") == 0);
    owl_grammar_free(g);
    g = gbnf("root ::= [α-ω]+ \" \" [^a-z\\u00e9]{2} .");
    CHECK(verdict(g, "λόγ") == 0, "ό is outside α-ω");
    CHECK(verdict(g, "λαμ XY\xe2\x82\xac") == 1 && verdict(g, "αβ \xc3\xa9X!") == 0 && verdict(g, "αβ aX!") == 0 && verdict(g, "αβ XY") == 2);
    CHECK(verdict(g, "\xce") == 2 && verdict(g, "\xc3") == 0, "a lead byte is kept if some code point it can start fits");
    CHECK(verdict(g, "\xce\xb1\x80") == 0 && verdict(g, "\xed\xa0\x80") == 0, "strict UTF-8");
    owl_grammar_free(g);
    g = gbnf("root ::= (\"ab\" | \"a\" \"b\" | [a] [b])*\n# comment\n");
    CHECK(verdict(g, "") == 1 && verdict(g, "abab") == 1 && verdict(g, "aba") == 2 && verdict(g, "abb") == 0, "ambiguity merges");
    owl_grammar_free(g);
    g = gbnf("root ::= x\nx ::= \"(\" x \")\" | \"\"");
    CHECK(verdict(g, "((()))") == 1 && verdict(g, "(()") == 2 && verdict(g, "())") == 0);
    owl_grammar_free(g);
    g = gbnf("root ::= \"\\x41\\u00e9\\U0001F600\\t\\\\\\\"\"");
    CHECK(verdict(g, "A\xc3\xa9\xf0\x9f\x98\x80\t\\\"") == 1);
    owl_grammar_free(g);
    /* regexes */
    g = regex("^\\d{3}-[A-Z]\\w*(?:\\.\\s?x|y)+$");
    CHECK(verdict(g, "123-Ab_9.x") == 1 && verdict(g, "123-Ay. xy") == 1 && verdict(g, "12-Ay") == 0 && verdict(g, "123-ay") == 0);
    owl_grammar_free(g);
    g = regex("(cat|dog)s?|[^a-c\\n]{2}.");
    CHECK(verdict(g, "cat") == 1 && verdict(g, "dogs") == 1 && verdict(g, "zz!") == 1 && verdict(g, "az!") == 0 && verdict(g, "zz\n") == 0);
    owl_grammar_free(g);
    g = regex("\\D\\W\\S[-a]\\x41\\.");
    CHECK(verdict(g, "a!x-A.") == 1 && verdict(g, "1!x-A.") == 0 && verdict(g, "aax-A.") == 0 && verdict(g, "a! -A.") == 0);
    owl_grammar_free(g);
}

static int load(owl_model **m, owl_engine **e, owl_tokenizer **tk, owl_token_trie **trie) {
    owl_error err = {0};
    CHECK(owl_model_open(shared_path("models/stories260K/stories260K.gguf"), m, &err) == OWL_OK, "%s", err.message);
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = 1;
    ep.n_ctx = 512;
    if (*m && (owl_engine_new(*m, &ep, e, &err) || owl_tokenizer_new(*m, tk, &err) ||
               owl_token_trie_new(*tk, owl_engine_n_vocab(*e), trie, &err)))
        CHECK(0, "%s", err.message);
    return *trie != NULL;
}

/* the allowed set from the trie walk equals feeding every token's piece to a fresh matcher */
static void compare_brute(const owl_grammar *g, owl_tokenizer *tk, owl_token_trie *trie, int64_t V, const char *prefix, int *n_cmp) {
    owl_grammar_match *m = NULL;
    owl_error err = {0};
    if (owl_grammar_match_new(g, &m, &err)) return;
    CHECK(owl_grammar_match_feed(m, prefix, strlen(prefix)), "prefix %s", prefix);
    uint8_t *allowed = malloc((size_t)V);
    int64_t n = owl_grammar_match_allowed(m, trie, allowed), count = 0, diff = 0;
    for (int32_t id = 0; id < V; id++) {
        int want;
        if (owl_token_is_eog(tk, id)) want = owl_grammar_match_complete(m);
        else {
            size_t pl;
            const char *p = owl_token_piece(tk, id, &pl);
            owl_grammar_match *c = NULL;
            owl_grammar_match_new(g, &c, &err);
            want = pl > 0 && owl_grammar_match_feed(c, prefix, strlen(prefix)) && owl_grammar_match_feed(c, p, pl);
            owl_grammar_match_free(c);
        }
        count += want;
        if (want != allowed[id]) diff++;
    }
    CHECK(diff == 0 && count == n, "prefix [%s]: %lld differ, %lld vs %lld allowed", prefix, (long long)diff, (long long)n, (long long)count);
    (*n_cmp)++;
    free(allowed);
    owl_grammar_match_free(m);
}

static void test_allowed_vs_brute(void) {
    owl_model *m = NULL;
    owl_engine *e = NULL;
    owl_tokenizer *tk = NULL;
    owl_token_trie *trie = NULL;
    if (load(&m, &e, &tk, &trie)) {
        int64_t V = owl_engine_n_vocab(e);
        int n = 0;
        owl_grammar *g = gbnf(JSON_GBNF);
        const char *jp[] = {"", "{", "{\"a", "{\"a\": ", "{\"a\": [1, tr", "{\"a\": \"caf\xc3", "{\"a\": 1}", "{\"a\": -1.5e"};
        for (size_t i = 0; i < sizeof jp / sizeof *jp; i++) compare_brute(g, tk, trie, V, jp[i], &n);
        owl_grammar_free(g);
        g = gbnf(ARITH_GBNF);
        const char *ap[] = {"", "a", "(x +1", "x=1\n"};
        for (size_t i = 0; i < sizeof ap / sizeof *ap; i++) compare_brute(g, tk, trie, V, ap[i], &n);
        owl_grammar_free(g);
        g = regex("[a-z ]{1,12}(, [a-z]+)*\\.");
        const char *rp[] = {"", "once upon", "once upon a", "the cat, "};
        for (size_t i = 0; i < sizeof rp / sizeof *rp; i++) compare_brute(g, tk, trie, V, rp[i], &n);
        owl_grammar_free(g);
        printf("  %d allowed sets equal the brute-force check over %lld tokens\n", n, (long long)V);
    }
    owl_token_trie_free(trie);
    owl_tokenizer_free(tk);
    owl_engine_free(e);
    owl_model_close(m);
}

/* generates under g; returns 1 if it ended on EOS (or nothing else could follow) */
static int generate(owl_engine *e, owl_tokenizer *tk, owl_token_trie *trie, const owl_grammar *g, float temp, uint64_t seed,
                    char *out, size_t cap) {
    owl_error err = {0};
    int64_t V = owl_engine_n_vocab(e);
    uint8_t *allowed = malloc((size_t)V);
    float *masked = malloc((size_t)V * sizeof *masked);
    owl_sampler_params sp = owl_sampler_default_params();
    sp.temperature = temp;
    sp.seed = seed;
    owl_sampler *sm = NULL;
    owl_grammar_match *gm = NULL;
    CHECK(owl_sampler_new(&sp, V, &sm, &err) == OWL_OK && owl_grammar_match_new(g, &gm, &err) == OWL_OK, "%s", err.message);
    owl_engine_seq_drop(e, 0, 0, -1, &err);
    size_t n = 0;
    int32_t tok = 1, finished = 0;
    for (int step = 0; step < 300 && !finished && sm && gm; step++) {
        owl_batch b = {.n_tokens = 1, .tokens = &tok};
        if (owl_engine_decode(e, &b, &err)) break;
        const float *l = owl_engine_logits(e, 0);
        if (!owl_grammar_match_allowed(gm, trie, allowed)) break;
        for (int64_t v = 0; v < V; v++) masked[v] = allowed[v] ? l[v] : -INFINITY;
        tok = owl_sampler_sample(sm, masked);
        if (owl_token_is_eog(tk, tok)) {
            finished = 1;
            break;
        }
        size_t pl;
        const char *p = owl_token_piece(tk, tok, &pl);
        CHECK(owl_grammar_match_feed(gm, p, pl), "the matcher accepts what it allowed");
        if (n + pl < cap) memcpy(out + n, p, pl), n += pl;
    }
    out[n] = '\0';
    int ok = finished && owl_grammar_match_complete(gm);
    if (!ok) fprintf(stderr, "finished %d complete %d\n", finished, owl_grammar_match_complete(gm));
    owl_grammar_match_free(gm);
    owl_sampler_free(sm);
    free(allowed);
    free(masked);
    return ok;
}

static void test_generation(void) {
    owl_model *m = NULL;
    owl_engine *e = NULL;
    owl_tokenizer *tk = NULL;
    owl_token_trie *trie = NULL;
    if (load(&m, &e, &tk, &trie)) {
        const char *grammars[] = {
            "root ::= \"Once upon a time, \" name \" had a \" pet \".\"\nname ::= [A-Z] [a-z]{1,8}\npet ::= \"cat\" | \"dog\" | [a-z]{3,6}",
            "root ::= (\"yes\" | \"no\") (\", \" [a-z]+){1,3} \"!\"",
            "root ::= expr \" = \" num\nexpr ::= term ([-+*] term){0,3}\nterm ::= num | \"(\" num ([-+*] num){1,2} \")\"\nnum ::= [1-9] [0-9]{0,2}",
        };
        const char *regexes[] = {"[A-Z][a-z]+ (is|was) [a-z ]{3,20}\\.", "\\d{1,3}(\\.\\d{1,3}){3}", "(the|a) [a-z]{1,8}( [a-z]{1,8}){0,4}"};
        int runs = 0, good = 0;
        char out[4096];
        for (int gi = 0; gi < 3; gi++) {
            owl_grammar *g = gbnf(grammars[gi]);
            for (uint64_t seed = 0; g && seed < 5; seed++, runs++) {
                int ok = generate(e, tk, trie, g, seed ? 1.0f : 0.0f, seed, out, sizeof out) && verdict(g, out) == 1;
                CHECK(ok, "grammar %d seed %llu: [%s]", gi, (unsigned long long)seed, out);
                good += ok;
                if (seed <= 1) printf("  grammar %d, %s: %s\n", gi, seed ? "sampled" : "greedy", out);
            }
            owl_grammar_free(g);
        }
        for (int ri = 0; ri < 3; ri++) {
            owl_grammar *g = regex(regexes[ri]);
            char anchored[128];
            snprintf(anchored, sizeof anchored, "\\A(?:%s)\\z", regexes[ri]);
            regex_t *rx = NULL;
            OnigErrorInfo einfo;
            CHECK(onig_new(&rx, (const UChar *)anchored, (const UChar *)anchored + strlen(anchored), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                           ONIG_SYNTAX_RUBY, &einfo) == ONIG_NORMAL);
            for (uint64_t seed = 0; g && seed < 5; seed++, runs++) {
                int ok = generate(e, tk, trie, g, seed ? 1.0f : 0.0f, seed, out, sizeof out) && rx &&
                         onig_search(rx, (const UChar *)out, (const UChar *)out + strlen(out), (const UChar *)out,
                                     (const UChar *)out + strlen(out), NULL, ONIG_OPTION_NONE) >= 0;
                CHECK(ok, "regex %d seed %llu: [%s]", ri, (unsigned long long)seed, out);
                good += ok;
                if (seed <= 1) printf("  regex %d, %s: %s\n", ri, seed ? "sampled" : "greedy", out);
            }
            onig_free(rx);
            owl_grammar_free(g);
        }
        printf("  %d of %d constrained generations match\n", good, runs);
    }
    owl_token_trie_free(trie);
    owl_tokenizer_free(tk);
    owl_engine_free(e);
    owl_model_close(m);
}

int main(void) {
    RUN(test_parser_errors);
    RUN(test_matcher);
    RUN(test_allowed_vs_brute);
    RUN(test_generation);
    DONE("test_grammar");
}
