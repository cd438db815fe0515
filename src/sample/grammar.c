/* grammar.c: output constrained by a GBNF grammar (llama.cpp's dialect) or a
 * regex compiled to one. The grammar becomes a flat array of elements (rules
 * of alternatives of sequences; repetitions desugared into helper rules); the
 * matcher is a set of parse stacks advanced one code point at a time, and the
 * allowed tokens come from walking the vocabulary trie with it, dropping a
 * subtree at the first byte no stack accepts. Every size is capped so that a
 * hostile grammar ends with an error instead of a hang. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "owl.h"
#include "sample/token_trie.h"

#define MAX_SOURCE (1u << 20)   /* grammar text bytes */
#define MAX_RULES 4096
#define MAX_ELEMS (1 << 18)     /* elements over all rules, after desugaring */
#define MAX_NEST 64             /* parenthesised groups inside one another */
#define MAX_REPEAT 1000         /* m and n of {m,n} */
#define MAX_STACKS 256          /* simultaneous parse stacks (ambiguity) */
#define MAX_STACK_DEPTH 512     /* entries of one stack (nesting of the parse) */
#define MAX_STATE_INTS (1 << 16)
#define MAX_CACHE 32            /* allowed sets remembered per matcher */

/* ---- compiled form ------------------------------------------------------------ */

enum { E_END, E_ALT, E_RULE, E_CHAR, E_CHAR_NOT };

typedef struct gelem {
    uint8_t type;
    int32_t value;  /* E_RULE: rule id; E_CHAR*: first range */
    int32_t n;      /* E_CHAR*: number of ranges */
} gelem;

struct owl_grammar {
    gelem *e;           /* every rule's elements, each rule ending in E_END */
    int32_t n_e;
    int32_t *rule_at;   /* rule id -> index of its first element */
    int32_t n_rules;
    uint32_t *rng;      /* pairs lo, hi (inclusive code points) */
    int32_t n_rng;
    int32_t root;
};

/* ---- parser ------------------------------------------------------------------- */

typedef struct vec { gelem *e; int32_t n, cap; } vec;

typedef struct parser {
    const char *src, *p, *end;
    owl_error *err;
    int failed;
    /* rules as parsed; names[i] NULL for generated rules */
    char **names;
    vec *body;
    int *defined;
    int32_t *ref_line, *ref_col; /* where a rule was first referenced */
    int32_t n_rules, cap_rules;
    uint32_t *rng;
    int32_t n_rng, cap_rng;
    int64_t total;
    int depth;
} parser;

static void where(const parser *ps, const char *at, int *line, int *col) {
    *line = 1, *col = 1;
    for (const char *q = ps->src; q < at && q < ps->end; q++) {
        if (*q == '\n') (*line)++, *col = 1;
        else (*col)++;
    }
}

static int perr(parser *ps, const char *at, const char *fmt, const char *what) {
    if (ps->failed) return 0;
    int line, col;
    where(ps, at, &line, &col);
    char msg[200];
    snprintf(msg, sizeof msg, fmt, what);
    owl_fail(ps->err, OWL_ERR_INPUT, "grammar:%d:%d: %s", line, col, msg);
    ps->failed = 1;
    return 0;
}

static int push(parser *ps, vec *v, gelem x) {
    if (ps->total >= MAX_ELEMS) return perr(ps, ps->p, "%s", "grammar too large (more than 262144 elements after expanding repetitions)");
    if (v->n == v->cap) {
        int32_t cap = v->cap ? v->cap * 2 : 16;
        gelem *q = realloc(v->e, (size_t)cap * sizeof *q);
        if (!q) return perr(ps, ps->p, "%s", "out of memory");
        v->e = q, v->cap = cap;
    }
    v->e[v->n++] = x;
    ps->total++;
    return 1;
}

static int add_range(parser *ps, uint32_t lo, uint32_t hi) {
    if (ps->n_rng * 2 + 2 > ps->cap_rng) {
        int32_t cap = ps->cap_rng ? ps->cap_rng * 2 : 64;
        if (cap > 2 * MAX_ELEMS) return perr(ps, ps->p, "%s", "too many character ranges");
        uint32_t *q = realloc(ps->rng, (size_t)cap * sizeof *q);
        if (!q) return perr(ps, ps->p, "%s", "out of memory");
        ps->rng = q, ps->cap_rng = cap;
    }
    ps->rng[2 * ps->n_rng] = lo, ps->rng[2 * ps->n_rng + 1] = hi;
    ps->n_rng++;
    return 1;
}

/* a rule id for name (defined or only referenced so far); name NULL: a new generated rule */
static int32_t rule_id(parser *ps, const char *name, size_t len, const char *at) {
    if (name)
        for (int32_t i = 0; i < ps->n_rules; i++)
            if (ps->names[i] && strlen(ps->names[i]) == len && !memcmp(ps->names[i], name, len)) return i;
    if (ps->n_rules >= MAX_RULES) return perr(ps, at, "%s", "too many rules (more than 4096, counting generated ones)"), -1;
    if (ps->n_rules == ps->cap_rules) {
        int32_t cap = ps->cap_rules ? ps->cap_rules * 2 : 32;
        char **nm = realloc(ps->names, (size_t)cap * sizeof *nm);
        if (nm) ps->names = nm;
        vec *b = realloc(ps->body, (size_t)cap * sizeof *b);
        if (b) ps->body = b;
        int *d = realloc(ps->defined, (size_t)cap * sizeof *d);
        if (d) ps->defined = d;
        int32_t *rl = realloc(ps->ref_line, (size_t)cap * sizeof *rl);
        if (rl) ps->ref_line = rl;
        int32_t *rc = realloc(ps->ref_col, (size_t)cap * sizeof *rc);
        if (rc) ps->ref_col = rc;
        if (!nm || !b || !d || !rl || !rc) return perr(ps, at, "%s", "out of memory"), -1;
        ps->cap_rules = cap;
    }
    int32_t id = ps->n_rules++;
    ps->names[id] = NULL;
    if (name) {
        ps->names[id] = malloc(len + 1);
        if (!ps->names[id]) return perr(ps, at, "%s", "out of memory"), -1;
        memcpy(ps->names[id], name, len);
        ps->names[id][len] = '\0';
    }
    ps->body[id] = (vec){0};
    ps->defined[id] = name == NULL;
    int line, col;
    where(ps, at, &line, &col);
    ps->ref_line[id] = line, ps->ref_col[id] = col;
    return id;
}

static int is_word(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

/* spaces and comments; newlines too when inside a group */
static void skip_space(parser *ps, int newlines) {
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r') ps->p++;
        } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
            ps->p++;
        } else break;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* one UTF-8 code point of the source; invalid bytes are taken as themselves */
static uint32_t decode_src(parser *ps) {
    const unsigned char *s = (const unsigned char *)ps->p;
    size_t left = (size_t)(ps->end - ps->p);
    uint32_t c = s[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if ((size_t)n > left) n = 1;
    if (n > 1) {
        uint32_t cp = c & (0x7Fu >> n);
        for (int i = 1; i < n; i++) {
            if ((s[i] & 0xC0) != 0x80) { n = 1; break; }
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if (n > 1) c = cp;
    }
    ps->p += n;
    return c;
}

/* a character of a literal or class, with escapes; 0 on error */
static int parse_char(parser *ps, uint32_t *out) {
    if (ps->p >= ps->end) return perr(ps, ps->p, "%s", "unexpected end of input in a literal or class");
    if (*ps->p != '\\') {
        *out = decode_src(ps);
        return 1;
    }
    const char *at = ps->p++;
    if (ps->p >= ps->end) return perr(ps, at, "%s", "unexpected end of input after '\\'");
    char c = *ps->p++;
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; i++) {
            int h = ps->p < ps->end ? hexval(*ps->p) : -1;
            if (h < 0) return perr(ps, at, "expected %s hex digits after the escape", digits == 2 ? "2" : digits == 4 ? "4" : "8");
            v = v << 4 | (uint32_t)h;
            ps->p++;
        }
        *out = v;
        return 1;
    }
    switch (c) {
    case 'n': *out = '\n'; return 1;
    case 't': *out = '\t'; return 1;
    case 'r': *out = '\r'; return 1;
    case '\\': case '"': case '[': case ']': case '-': case '^': *out = (uint32_t)(unsigned char)c; return 1;
    default: {
        char s[2] = {c, 0};
        return perr(ps, at, "unknown escape '\\%s'", s);
    }
    }
}

static int parse_alternates(parser *ps, vec *v);

/* a sequence up to '|', ')' or the end of the rule */
static int parse_sequence(parser *ps, vec *v, int nested) {
    int32_t last_start = -1;
    for (;;) {
        skip_space(ps, nested);
        if (ps->p >= ps->end) return 1;
        const char *at = ps->p;
        char c = *ps->p;
        if (c == '"') {
            ps->p++;
            last_start = v->n;
            while (ps->p < ps->end && *ps->p != '"') {
                uint32_t cp;
                if (!parse_char(ps, &cp) || !add_range(ps, cp, cp) || !push(ps, v, (gelem){E_CHAR, ps->n_rng - 1, 1})) return 0;
            }
            if (ps->p >= ps->end) return perr(ps, at, "%s", "unterminated string literal (expected '\"')");
            ps->p++;
        } else if (c == '[') {
            ps->p++;
            last_start = v->n;
            int neg = ps->p < ps->end && *ps->p == '^';
            if (neg) ps->p++;
            int32_t first = ps->n_rng, n = 0;
            while (ps->p < ps->end && *ps->p != ']') {
                uint32_t lo, hi;
                if (!parse_char(ps, &lo)) return 0;
                hi = lo;
                if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
                    ps->p++;
                    if (!parse_char(ps, &hi)) return 0;
                    if (hi < lo) return perr(ps, at, "%s", "character range out of order (its end is below its start)");
                }
                if (!add_range(ps, lo, hi)) return 0;
                n++;
            }
            if (ps->p >= ps->end) return perr(ps, at, "%s", "unterminated character class (expected ']')");
            ps->p++;
            if (!push(ps, v, (gelem){neg ? E_CHAR_NOT : E_CHAR, first, n})) return 0;
        } else if (c == '.') {
            ps->p++;
            last_start = v->n;
            /* any code point: the complement of nothing */
            if (!push(ps, v, (gelem){E_CHAR_NOT, ps->n_rng, 0})) return 0;
        } else if (is_word(c)) {
            const char *s = ps->p;
            while (ps->p < ps->end && is_word(*ps->p)) ps->p++;
            int32_t id = rule_id(ps, s, (size_t)(ps->p - s), s);
            if (id < 0) return 0;
            last_start = v->n;
            if (!push(ps, v, (gelem){E_RULE, id, 0})) return 0;
        } else if (c == '(') {
            ps->p++;
            if (++ps->depth > MAX_NEST) return perr(ps, at, "%s", "groups nested too deeply (more than 64)");
            int32_t id = rule_id(ps, NULL, 0, at);
            if (id < 0) return 0;
            vec body = {0};
            int ok = parse_alternates(ps, &body);
            ps->body[id] = body;
            if (!ok) return 0;
            skip_space(ps, 1);
            if (ps->p >= ps->end || *ps->p != ')') return perr(ps, at, "%s", "unclosed group (expected ')')");
            ps->p++;
            ps->depth--;
            last_start = v->n;
            if (!push(ps, v, (gelem){E_RULE, id, 0})) return 0;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last_start < 0) return perr(ps, at, "expected an item before '%s'", c == '*' ? "*" : c == '+' ? "+" : c == '?' ? "?" : "{");
            ps->p++;
            long lo = 0, hi = -1; /* -1: unbounded */
            if (c == '+') lo = 1;
            else if (c == '?') hi = 1;
            else if (c == '{') {
                skip_space(ps, nested);
                if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return perr(ps, ps->p, "%s", "expected a number after '{'");
                for (; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++)
                    if ((lo = lo * 10 + (*ps->p - '0')) > MAX_REPEAT) return perr(ps, at, "%s", "repetition count over 1000");
                skip_space(ps, nested);
                hi = lo;
                if (ps->p < ps->end && *ps->p == ',') {
                    ps->p++;
                    skip_space(ps, nested);
                    hi = -1;
                    if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
                        hi = 0;
                        for (; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++)
                            if ((hi = hi * 10 + (*ps->p - '0')) > MAX_REPEAT) return perr(ps, at, "%s", "repetition count over 1000");
                        if (hi < lo) return perr(ps, at, "%s", "repetition {m,n} with n below m");
                    }
                    skip_space(ps, nested);
                }
                if (ps->p >= ps->end || *ps->p != '}') return perr(ps, ps->p, "%s", "expected '}' to close the repetition");
                ps->p++;
            }
            /* the item X (elements last_start..) becomes X{lo} then helper rules */
            int32_t xn = v->n - last_start;
            if (!xn) { /* "" repeated is still empty */
                last_start = -1;
                continue;
            }
            gelem *x = malloc((size_t)xn * sizeof *x);
            if (!x) return perr(ps, at, "%s", "out of memory");
            memcpy(x, v->e + last_start, (size_t)xn * sizeof *x);
            v->n = last_start;
            ps->total -= xn;
            int ok = 1;
            for (long k = 0; k < lo && ok; k++)
                for (int32_t i = 0; i < xn && ok; i++) ok = push(ps, v, x[i]);
            if (ok && hi < 0) { /* R ::= X R | "" */
                int32_t r = rule_id(ps, NULL, 0, at);
                ok = r >= 0;
                for (int32_t i = 0; i < xn && ok; i++) ok = push(ps, &ps->body[r], x[i]);
                ok = ok && push(ps, &ps->body[r], (gelem){E_RULE, r, 0}) && push(ps, &ps->body[r], (gelem){E_ALT, 0, 0}) &&
                     push(ps, v, (gelem){E_RULE, r, 0});
            } else if (ok && hi > lo) { /* R1 ::= X | "", Rk ::= X R(k-1) | "" */
                int32_t prev = -1;
                for (long k = 0; k < hi - lo && ok; k++) {
                    int32_t r = rule_id(ps, NULL, 0, at);
                    ok = r >= 0;
                    for (int32_t i = 0; i < xn && ok; i++) ok = push(ps, &ps->body[r], x[i]);
                    if (ok && prev >= 0) ok = push(ps, &ps->body[r], (gelem){E_RULE, prev, 0});
                    ok = ok && push(ps, &ps->body[r], (gelem){E_ALT, 0, 0});
                    prev = r;
                }
                ok = ok && push(ps, v, (gelem){E_RULE, prev, 0});
            }
            free(x);
            if (!ok) return 0;
            last_start = -1; /* X** is not allowed: llama.cpp reads it as a syntax error too */
        } else if (c == '|' || c == ')') {
            return 1;
        } else if (c == '\n' || c == '\r') {
            return 1;
        } else {
            char s[2] = {c, 0};
            return perr(ps, at, "unexpected '%s' (expected a literal, class, rule name, group or '|')", s);
        }
    }
}

static int parse_alternates(parser *ps, vec *v) {
    int nested = ps->depth > 0;
    if (!parse_sequence(ps, v, nested)) return 0;
    for (;;) {
        skip_space(ps, nested);
        if (ps->p < ps->end && *ps->p == '|') {
            ps->p++;
            skip_space(ps, 1); /* an alternative may start on the next line */
            if (!push(ps, v, (gelem){E_ALT, 0, 0}) || !parse_sequence(ps, v, nested)) return 0;
        } else return 1;
    }
}

static int parse_rules(parser *ps) {
    for (;;) {
        skip_space(ps, 1);
        if (ps->p >= ps->end) return 1;
        const char *at = ps->p;
        const char *s = ps->p;
        while (ps->p < ps->end && is_word(*ps->p)) ps->p++;
        if (ps->p == s) {
            char c[2] = {*ps->p, 0};
            return perr(ps, at, "expected a rule name, found '%s'", c);
        }
        int32_t id = rule_id(ps, s, (size_t)(ps->p - s), s);
        if (id < 0) return 0;
        if (ps->defined[id]) return perr(ps, at, "rule '%s' defined twice", ps->names[id]);
        ps->defined[id] = 1;
        skip_space(ps, 0);
        if (ps->end - ps->p < 3 || memcmp(ps->p, "::=", 3)) return perr(ps, ps->p, "expected '::=' after '%s'", ps->names[id]);
        ps->p += 3;
        skip_space(ps, 1); /* the body may start on the next line */
        vec body = {0};
        int ok = parse_alternates(ps, &body);
        ps->body[id] = body;
        if (!ok) return 0;
        skip_space(ps, 0);
        if (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r') {
            char c[2] = {*ps->p, 0};
            return perr(ps, ps->p, "unexpected '%s' (expected the end of the rule)", c);
        }
    }
}

/* ---- checks: undefined rules, missing root, left recursion ------------------- */

/* nullable[r]: rule r can match the empty string (fixpoint) */
static void nullable_rules(const struct owl_grammar *g, uint8_t *nul) {
    memset(nul, 0, (size_t)g->n_rules);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int32_t r = 0; r < g->n_rules; r++) {
            if (nul[r]) continue;
            int alt_ok = 1;
            for (int32_t i = g->rule_at[r];; i++) {
                gelem x = g->e[i];
                if (x.type == E_END || x.type == E_ALT) {
                    if (alt_ok) { nul[r] = 1, changed = 1; break; }
                    if (x.type == E_END) break;
                    alt_ok = 1;
                } else if (x.type == E_CHAR || x.type == E_CHAR_NOT || (x.type == E_RULE && !nul[x.value])) alt_ok = 0;
            }
        }
    }
}

/* depth-first over "r can start with rule s": a cycle is left recursion */
static int left_cycle(const struct owl_grammar *g, const uint8_t *nul, int32_t r, uint8_t *mark, int32_t *stack, int32_t *sp) {
    mark[r] = 1;
    stack[(*sp)++] = r;
    int in_prefix = 1;
    for (int32_t i = g->rule_at[r];; i++) {
        gelem x = g->e[i];
        if (x.type == E_END) break;
        if (x.type == E_ALT) { in_prefix = 1; continue; }
        if (!in_prefix) continue;
        if (x.type == E_RULE) {
            if (mark[x.value] == 1) return x.value + 1;
            if (!mark[x.value]) {
                int c = left_cycle(g, nul, x.value, mark, stack, sp);
                if (c) return c;
            }
            if (!nul[x.value]) in_prefix = 0;
        } else in_prefix = 0;
    }
    mark[r] = 2;
    (*sp)--;
    return 0;
}

void owl_grammar_free(owl_grammar *g) {
    if (!g) return;
    free(g->e);
    free(g->rule_at);
    free(g->rng);
    free(g);
}

static void parser_free(parser *ps) {
    for (int32_t i = 0; i < ps->n_rules; i++) free(ps->names[i]), free(ps->body[i].e);
    free(ps->names);
    free(ps->body);
    free(ps->defined);
    free(ps->ref_line);
    free(ps->ref_col);
    free(ps->rng);
}

owl_status owl_grammar_compile_gbnf(const char *src, size_t len, owl_grammar **out, owl_error *err) {
    if (!src || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_grammar_compile_gbnf: src and out must not be NULL");
    *out = NULL;
    if (len > MAX_SOURCE) return owl_fail(err, OWL_ERR_INPUT, "grammar: %zu bytes, over the limit of %u", len, MAX_SOURCE);
    parser ps = {.src = src, .p = src, .end = src + len, .err = err};
    owl_grammar *g = NULL;
    if (!parse_rules(&ps)) goto fail;
    int32_t root = -1;
    for (int32_t i = 0; i < ps.n_rules; i++) {
        if (!ps.defined[i]) {
            owl_fail(err, OWL_ERR_INPUT, "grammar:%d:%d: undefined rule '%s'", ps.ref_line[i], ps.ref_col[i], ps.names[i]);
            goto fail;
        }
        if (ps.names[i] && !strcmp(ps.names[i], "root")) root = i;
    }
    if (root < 0) {
        owl_fail(err, OWL_ERR_INPUT, "grammar: no 'root' rule (the start rule must be named root)");
        goto fail;
    }
    g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->n_rules = ps.n_rules;
    g->root = root;
    g->rule_at = malloc((size_t)ps.n_rules * sizeof *g->rule_at);
    g->e = malloc(((size_t)ps.total + (size_t)ps.n_rules) * sizeof *g->e);
    g->rng = malloc(((size_t)ps.n_rng * 2 + 2) * sizeof *g->rng);
    if (!g->rule_at || !g->e || !g->rng) goto nomem;
    for (int32_t r = 0; r < ps.n_rules; r++) {
        g->rule_at[r] = g->n_e;
        if (ps.body[r].n) memcpy(g->e + g->n_e, ps.body[r].e, (size_t)ps.body[r].n * sizeof *g->e);
        g->n_e += ps.body[r].n;
        g->e[g->n_e++] = (gelem){E_END, 0, 0};
    }
    if (ps.n_rng) memcpy(g->rng, ps.rng, (size_t)ps.n_rng * 2 * sizeof *g->rng);
    g->n_rng = ps.n_rng;
    uint8_t *nul = calloc((size_t)g->n_rules, 2);
    int32_t *stack = malloc((size_t)g->n_rules * sizeof *stack);
    if (!nul || !stack) {
        free(nul), free(stack);
        goto nomem;
    }
    nullable_rules(g, nul);
    int cyc = 0;
    /* the DFS recursion depth is bounded by the number of rules (4096): fine for the C stack */
    for (int32_t r = 0; r < g->n_rules && !cyc; r++) {
        int32_t sp = 0;
        if (!nul[g->n_rules + r]) cyc = left_cycle(g, nul, r, nul + g->n_rules, stack, &sp);
    }
    if (cyc) {
        int32_t r = cyc - 1;
        /* name the nearest named rule on the cycle */
        const char *name = ps.names[r];
        for (int32_t k = 0; !name && k < g->n_rules; k++) name = ps.names[k] && nul[g->n_rules + k] == 1 ? ps.names[k] : NULL;
        owl_fail(err, OWL_ERR_INPUT, "grammar: left recursion through rule '%s' (a rule may not start with itself)", name ? name : "?");
        free(nul), free(stack);
        goto fail;
    }
    free(nul), free(stack);
    parser_free(&ps);
    *out = g;
    return OWL_OK;
nomem:
    owl_fail(err, OWL_ERR_NOMEM, "grammar: out of memory");
fail:
    parser_free(&ps);
    owl_grammar_free(g);
    return err ? err->status : OWL_ERR_INPUT;
}

/* ---- matcher -------------------------------------------------------------------
 * A state is a set of parse stacks, each a list of element positions (bottom
 * first) whose top is a character element still to match; an empty stack means
 * the input so far is a complete match. Bytes of a code point still arriving
 * are kept as a partial value and checked against the tops as a range. */

typedef struct gstate {
    int32_t n, used, cap;
    int32_t off[MAX_STACKS], len[MAX_STACKS];
    uint32_t hash[MAX_STACKS];
    int32_t *buf;
    uint32_t cp;    /* partial code point */
    uint8_t need;   /* continuation bytes still to come */
    uint8_t total;  /* bytes of the code point under way */
    uint8_t overflow;
} gstate;

struct owl_grammar_match {
    const owl_grammar *g;
    gstate cur, tmp;
    int32_t st[MAX_STACK_DEPTH + 2]; /* the stack being expanded */
    int64_t work;
    int spent;
    gstate **depth; /* one state per trie depth while masking */
    int32_t n_depth;
    /* allowed sets of recent states: generation revisits the same states (inside
       a string, between items), and a hit costs one copy instead of a walk */
    struct mcache { gstate key; uint8_t *allowed; int64_t n; const owl_token_trie *trie; } cache[MAX_CACHE];
    int32_t n_cache, next_cache;
};

#define MAX_WORK (1 << 20) /* expansion steps per code point */
#define MAX_TRIE_DEPTH 1024

static int state_add(gstate *s, const int32_t *st, int32_t len) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < len; i++) h = (h ^ (uint32_t)st[i]) * 16777619u;
    for (int32_t k = 0; k < s->n; k++)
        if (s->hash[k] == h && s->len[k] == len && (!len || !memcmp(s->buf + s->off[k], st, (size_t)len * sizeof *st))) return 1;
    if (s->n >= MAX_STACKS || s->used + len > MAX_STATE_INTS) return s->overflow = 1, 0;
    if (s->used + len > s->cap) {
        int32_t cap = s->cap ? s->cap : 256;
        while (cap < s->used + len) cap *= 2;
        int32_t *b = realloc(s->buf, (size_t)cap * sizeof *b);
        if (!b) return s->overflow = 1, 0;
        s->buf = b, s->cap = cap;
    }
    if (len) memcpy(s->buf + s->used, st, (size_t)len * sizeof *st);
    s->off[s->n] = s->used, s->len[s->n] = len, s->hash[s->n] = h;
    s->n++;
    s->used += len;
    return 1;
}

static int ends_seq(const gelem *x) { return x->type == E_END || x->type == E_ALT; }

/* expands rule references at the top of st[0..len) until every top is a character
 * element, in place (each level restores what it changed); results go to out */
static void expand(owl_grammar_match *m, int32_t len, gstate *out) {
    if (out->overflow || ++m->work > MAX_WORK) {
        out->overflow = 1;
        return;
    }
    if (len == 0) {
        state_add(out, m->st, 0);
        return;
    }
    const owl_grammar *g = m->g;
    int32_t top = m->st[len - 1];
    const gelem *x = &g->e[top];
    if (x->type != E_RULE) {
        state_add(out, m->st, len);
        return;
    }
    int32_t base = len - 1;
    if (!ends_seq(x + 1)) m->st[base++] = top + 1; /* what follows the reference, in place of it */
    for (int32_t a = g->rule_at[x->value];;) {
        if (ends_seq(&g->e[a])) {
            expand(m, base, out);
        } else if (base < MAX_STACK_DEPTH) {
            m->st[base] = a;
            expand(m, base + 1, out);
        } /* deeper: this parse is dropped, like a grammar too deep to follow */
        while (!ends_seq(&g->e[a])) a++;
        if (g->e[a].type == E_END) break;
        a++;
    }
    m->st[len - 1] = top;
}

static int class_has(const owl_grammar *g, const gelem *x, uint32_t cp) {
    int in = 0;
    for (int32_t i = 0; i < x->n && !in; i++) in = cp >= g->rng[2 * (x->value + i)] && cp <= g->rng[2 * (x->value + i) + 1];
    return x->type == E_CHAR ? in : !in;
}

/* could some code point in lo..hi match the class (for a code point still arriving) */
static int class_meets(const owl_grammar *g, const gelem *x, uint32_t lo, uint32_t hi) {
    for (int32_t i = 0; i < x->n; i++) {
        uint32_t a = g->rng[2 * (x->value + i)], b = g->rng[2 * (x->value + i) + 1];
        if (x->type == E_CHAR && a <= hi && b >= lo) return 1;
        if (x->type == E_CHAR_NOT && a <= lo && b >= hi) return 0;
    }
    return x->type == E_CHAR_NOT;
}

static void state_clear(gstate *s) {
    s->n = s->used = 0;
    s->cp = s->need = s->total = s->overflow = 0;
}

static int state_copy(gstate *d, const gstate *s) {
    if (s->used > d->cap) {
        int32_t *b = realloc(d->buf, (size_t)s->cap * sizeof *b);
        if (!b) return 0;
        d->buf = b, d->cap = s->cap;
    }
    d->n = s->n, d->used = s->used;
    memcpy(d->off, s->off, (size_t)s->n * sizeof *s->off);
    memcpy(d->len, s->len, (size_t)s->n * sizeof *s->len);
    memcpy(d->hash, s->hash, (size_t)s->n * sizeof *s->hash);
    if (s->used) memcpy(d->buf, s->buf, (size_t)s->used * sizeof *s->buf);
    d->cp = s->cp, d->need = s->need, d->total = s->total, d->overflow = 0;
    return 1;
}

/* in + one complete code point -> out; 0 if no stack takes it */
static int accept_cp(owl_grammar_match *m, const gstate *in, uint32_t cp, gstate *out) {
    const owl_grammar *g = m->g;
    state_clear(out);
    m->work = 0;
    for (int32_t k = 0; k < in->n; k++) {
        int32_t len = in->len[k];
        if (!len) continue;
        const int32_t *s = in->buf + in->off[k];
        int32_t top = s[len - 1];
        if (!class_has(g, &g->e[top], cp)) continue;
        memcpy(m->st, s, (size_t)len * sizeof *s);
        if (!ends_seq(&g->e[top + 1])) m->st[len - 1] = top + 1;
        else len--;
        expand(m, len, out);
        if (out->overflow) return 0; /* too ambiguous to follow: refuse rather than guess */
    }
    return out->n > 0;
}

static int partial_viable(const owl_grammar *g, const gstate *s, uint32_t lo, uint32_t hi) {
    for (int32_t k = 0; k < s->n; k++)
        if (s->len[k] && class_meets(g, &g->e[s->buf[s->off[k] + s->len[k] - 1]], lo, hi)) return 1;
    return 0;
}

static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000}; /* by continuation bytes */

/* in + one byte -> out (strict UTF-8); 0 if rejected */
static int feed_byte(owl_grammar_match *m, const gstate *in, unsigned char b, gstate *out) {
    const owl_grammar *g = m->g;
    if (!in->need) {
        if (b < 0x80) return accept_cp(m, in, b, out);
        int need = b >= 0xC2 && b <= 0xDF ? 1 : (b & 0xF0) == 0xE0 ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : -1;
        if (need < 0) return 0;
        uint32_t cp = b & (0x3Fu >> need);
        uint32_t lo = cp << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
        if (lo < min_cp[need]) lo = min_cp[need]; /* the shortest form is the only valid one */
        if (!partial_viable(g, in, lo, hi)) return 0;
        if (!state_copy(out, in)) return 0;
        out->cp = cp, out->need = (uint8_t)need, out->total = (uint8_t)(need + 1);
        return 1;
    }
    if ((b & 0xC0) != 0x80) return 0;
    uint32_t cp = in->cp << 6 | (b & 0x3F);
    int need = in->need - 1;
    /* overlong forms, surrogates and values past U+10FFFF end here, at the second byte */
    if (in->total - in->need == 1) {
        uint32_t lead = in->cp;
        if ((in->total == 3 && lead == 0 && b < 0xA0) || (in->total == 3 && lead == 0xD && b >= 0xA0) ||
            (in->total == 4 && lead == 0 && b < 0x90) || (in->total == 4 && lead == 4 && b >= 0x90))
            return 0;
    }
    if (!need) {
        gstate base = *in; /* stacks unchanged, shallow: accept_cp only reads */
        base.need = 0;
        return accept_cp(m, &base, cp, out);
    }
    uint32_t lo = cp << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
    if (lo < min_cp[in->total - 1]) lo = min_cp[in->total - 1];
    if (!partial_viable(g, in, lo, hi)) return 0;
    if (!state_copy(out, in)) return 0;
    out->cp = cp, out->need = (uint8_t)need;
    return 1;
}

owl_status owl_grammar_match_new(const owl_grammar *g, owl_grammar_match **out, owl_error *err) {
    if (!g || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_grammar_match_new: grammar and out must not be NULL");
    owl_grammar_match *m = calloc(1, sizeof *m);
    if (!m) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    m->g = g;
    /* the start: root's alternatives, expanded */
    m->st[0] = g->n_e; /* a sentinel never read: the root reference is expanded directly below */
    int32_t r = g->rule_at[g->root];
    for (int32_t a = r;;) {
        if (ends_seq(&g->e[a])) expand(m, 0, &m->cur);
        else m->st[0] = a, expand(m, 1, &m->cur);
        while (!ends_seq(&g->e[a])) a++;
        if (g->e[a].type == E_END) break;
        a++;
    }
    if (m->cur.overflow) {
        owl_grammar_match_free(m);
        return owl_fail(err, OWL_ERR_INPUT, "grammar: too ambiguous at the start (more than %d parses)", MAX_STACKS);
    }
    *out = m;
    return OWL_OK;
}

void owl_grammar_match_free(owl_grammar_match *m) {
    if (!m) return;
    free(m->cur.buf);
    free(m->tmp.buf);
    for (int32_t i = 0; i < m->n_depth; i++)
        if (m->depth[i]) free(m->depth[i]->buf), free(m->depth[i]);
    free(m->depth);
    for (int32_t i = 0; i < m->n_cache; i++) free(m->cache[i].key.buf), free(m->cache[i].allowed);
    free(m);
}

int owl_grammar_match_feed(owl_grammar_match *m, const char *bytes, size_t n) {
    if (!m || m->spent) return 0;
    for (size_t i = 0; i < n; i++) {
        if (!feed_byte(m, &m->cur, (unsigned char)bytes[i], &m->tmp)) {
            m->spent = 1;
            return 0;
        }
        gstate t = m->cur;
        m->cur = m->tmp;
        m->tmp = t;
    }
    return 1;
}

int owl_grammar_match_complete(const owl_grammar_match *m) {
    if (!m || m->spent || m->cur.need) return 0;
    for (int32_t k = 0; k < m->cur.n; k++)
        if (!m->cur.len[k]) return 1;
    return 0;
}

/* 1 if some stack still expects a character (more output can follow) */
static int can_continue(const gstate *s) {
    for (int32_t k = 0; k < s->n; k++)
        if (s->len[k]) return 1;
    return 0;
}

static gstate *depth_state(owl_grammar_match *m, int32_t d) {
    if (d >= MAX_TRIE_DEPTH) return NULL;
    if (d >= m->n_depth) {
        int32_t n = d + 16;
        gstate **p = realloc(m->depth, (size_t)n * sizeof *p);
        if (!p) return NULL;
        for (int32_t i = m->n_depth; i < n; i++) p[i] = NULL;
        m->depth = p, m->n_depth = n;
    }
    if (!m->depth[d]) m->depth[d] = calloc(1, sizeof(gstate));
    return m->depth[d];
}

/* depth-first: a child is entered only with a state that accepted its byte */
static void walk(owl_grammar_match *m, const owl_token_trie *t, int32_t at, const gstate *s, int32_t d, uint8_t *allowed,
                 int64_t *n) {
    gstate *next = depth_state(m, d);
    if (!next) return;
    for (int32_t c = t->n[at].child; c >= 0; c = t->n[c].next) {
        if (!feed_byte(m, s, t->n[c].byte, next)) continue;
        for (int32_t id = t->n[c].token; id >= 0; id = t->tok_next[id]) allowed[id] = 1, (*n)++;
        if (t->n[c].child >= 0) walk(m, t, c, next, d + 1, allowed, n);
    }
}

static int state_equal(const gstate *a, const gstate *b) {
    return a->n == b->n && a->used == b->used && a->cp == b->cp && a->need == b->need && a->total == b->total &&
           !memcmp(a->len, b->len, (size_t)a->n * sizeof *a->len) && !memcmp(a->hash, b->hash, (size_t)a->n * sizeof *a->hash) &&
           (!a->used || !memcmp(a->buf, b->buf, (size_t)a->used * sizeof *a->buf));
}

int64_t owl_grammar_match_allowed(owl_grammar_match *m, const owl_token_trie *t, uint8_t *allowed) {
    memset(allowed, 0, (size_t)t->n_vocab);
    if (!m || m->spent) return 0;
    for (int32_t i = 0; i < m->n_cache; i++) {
        struct mcache *c = &m->cache[i];
        if (c->trie == t && state_equal(&c->key, &m->cur)) {
            memcpy(allowed, c->allowed, (size_t)t->n_vocab);
            return c->n;
        }
    }
    int64_t n = 0;
    if (can_continue(&m->cur) || m->cur.need) walk(m, t, 0, &m->cur, 0, allowed, &n);
    if (owl_grammar_match_complete(m))
        for (int i = 0; i < t->n_eog; i++) allowed[t->eog[i]] = 1, n++;
    /* remember it (round robin); a failed allocation only skips the cache */
    int32_t slot = m->n_cache < MAX_CACHE ? m->n_cache : m->next_cache;
    struct mcache *c = &m->cache[slot];
    if (slot == m->n_cache) {
        *c = (struct mcache){0};
        if (!(c->allowed = malloc((size_t)t->n_vocab))) return n;
        m->n_cache++;
    } else {
        m->next_cache = (m->next_cache + 1) % MAX_CACHE;
        if (c->trie && c->trie->n_vocab != t->n_vocab) {
            uint8_t *a = realloc(c->allowed, (size_t)t->n_vocab);
            if (!a) return c->trie = NULL, n;
            c->allowed = a;
        }
    }
    c->trie = NULL;
    if (!state_copy(&c->key, &m->cur)) return n;
    c->key.cp = m->cur.cp, c->key.need = m->cur.need, c->key.total = m->cur.total;
    memcpy(c->allowed, allowed, (size_t)t->n_vocab);
    c->n = n;
    c->trie = t;
    return n;
}

/* ---- regex front end ------------------------------------------------------------
 * A practical regex subset rewritten as GBNF text (root ::= ...) and compiled
 * by the parser above, so both share one matcher. */

typedef struct rbuf { char *s; size_t n, cap; int oom; } rbuf;

static void rput(rbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = cap <= 4 * MAX_SOURCE ? realloc(b->s, cap) : NULL;
        if (!p) { b->oom = 1; return; }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static void rputs(rbuf *b, const char *s) { rput(b, s, strlen(s)); }

/* a code point written for use inside a GBNF literal or class */
static void rcp(rbuf *b, uint32_t cp) {
    char t[16];
    snprintf(t, sizeof t, "\\U%08X", (unsigned)cp);
    rputs(b, t);
}

static const char *class_escape(char c) {
    switch (c) {
    case 'd': return "0-9";
    case 'w': return "a-zA-Z0-9_";
    case 's': return " \\t\\n\\r\\x0B\\x0C";
    default: return NULL;
    }
}

static owl_status rfail(owl_error *err, size_t col, const char *what) {
    return owl_fail(err, OWL_ERR_INPUT, "regex:%zu: %s", col + 1, what);
}

/* one code point of the regex source at *i (UTF-8 or escape) */
static uint32_t rdecode(const char *re, size_t len, size_t *i) {
    parser ps = {.src = re, .p = re + *i, .end = re + len};
    uint32_t c = decode_src(&ps);
    *i = (size_t)(ps.p - re);
    return c;
}

/* \xHH \uHHHH or a single escaped character: its code point, or -1 */
static long rescape(const char *re, size_t len, size_t *i) {
    char c = re[*i];
    (*i)++;
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : 0;
    if (digits) {
        long v = 0;
        for (int k = 0; k < digits; k++, (*i)++) {
            int h = *i < len ? hexval(re[*i]) : -1;
            if (h < 0) return -1;
            v = v * 16 + h;
        }
        return v;
    }
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return -1; /* \b \B \1 ...: not supported */
        return (unsigned char)c;
    }
}

owl_status owl_grammar_compile_regex(const char *re, size_t len, owl_grammar **out, owl_error *err) {
    if (!re || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_grammar_compile_regex: re and out must not be NULL");
    *out = NULL;
    if (len > MAX_SOURCE / 16) return owl_fail(err, OWL_ERR_INPUT, "regex: %zu bytes, over the limit of %u", len, MAX_SOURCE / 16);
    rbuf b = {0};
    rputs(&b, "root ::= (");
    size_t i = 0, end = len;
    if (i < end && re[i] == '^') i++;
    if (end > i && re[end - 1] == '$' && !(end >= 2 && re[end - 2] == '\\')) end--;
    int depth = 0, can_repeat = 0;
    owl_status st = OWL_OK;
    while (i < end && st == OWL_OK) {
        size_t at = i;
        char c = re[i];
        if (c == '(') {
            i++;
            if (i + 1 < end && re[i] == '?') {
                if (re[i + 1] != ':') { st = rfail(err, at, "only (?:...) groups are supported"); break; }
                i += 2;
            }
            if (++depth > MAX_NEST) { st = rfail(err, at, "groups nested too deeply (more than 64)"); break; }
            rputs(&b, " (");
            can_repeat = 0;
        } else if (c == ')') {
            if (!depth) { st = rfail(err, at, "unmatched ')'"); break; }
            depth--, i++;
            rputs(&b, " )");
            can_repeat = 1;
        } else if (c == '|') {
            i++;
            rputs(&b, " |");
            can_repeat = 0;
        } else if (c == '*' || c == '+' || c == '?') {
            if (!can_repeat) { st = rfail(err, at, "nothing to repeat"); break; }
            i++;
            if (i < end && (re[i] == '?' || re[i] == '+')) i++; /* lazy / possessive: the same language */
            rput(&b, &c, 1);
            can_repeat = 0;
        } else if (c == '{') {
            size_t j = i + 1;
            while (j < end && ((re[j] >= '0' && re[j] <= '9') || re[j] == ',')) j++;
            if (!can_repeat || j >= end || re[j] != '}' || j == i + 1 || re[i + 1] == ',') {
                st = rfail(err, at, can_repeat ? "malformed repetition (expected {m}, {m,} or {m,n})" : "nothing to repeat");
                break;
            }
            rput(&b, re + i, j + 1 - i);
            i = j + 1;
            if (i < end && re[i] == '?') i++;
            can_repeat = 0;
        } else if (c == '^' || c == '$') {
            st = rfail(err, at, "anchors are accepted only at the very start (^) and end ($)");
        } else if (c == '.') {
            i++;
            rputs(&b, " [^\\n]");
            can_repeat = 1;
        } else if (c == '[') {
            i++;
            rputs(&b, " [");
            if (i < end && re[i] == '^') rputs(&b, "^"), i++;
            int first = 1, closed = 0;
            while (i < end) {
                if (re[i] == ']' && !first) { i++, closed = 1; break; }
                first = 0;
                if (re[i] == '\\' && i + 1 < end) {
                    const char *ce = class_escape(re[i + 1]);
                    if (ce) { rputs(&b, ce), i += 2; continue; }
                    if (re[i + 1] == 'D' || re[i + 1] == 'W' || re[i + 1] == 'S') {
                        st = rfail(err, i, "\\D \\W \\S inside a class are not supported");
                        break;
                    }
                    i++;
                    long v = rescape(re, end, &i);
                    if (v < 0) { st = rfail(err, i - 1, "unsupported escape in a class"); break; }
                    rcp(&b, (uint32_t)v);
                } else if (re[i] == '-' ) {
                    rputs(&b, (i + 1 < end && re[i + 1] != ']' && re[i - 1] != '[') ? "-" : "\\-");
                    i++;
                } else {
                    rcp(&b, rdecode(re, end, &i));
                }
            }
            if (st) break;
            if (!closed) { st = rfail(err, at, "unterminated character class (expected ']')"); break; }
            rputs(&b, "]");
            can_repeat = 1;
        } else if (c == '\\') {
            if (i + 1 >= end) { st = rfail(err, at, "trailing '\\'"); break; }
            char e = re[i + 1];
            const char *ce = class_escape((char)(e | 0x20));
            if (ce && (e == 'd' || e == 'w' || e == 's' || e == 'D' || e == 'W' || e == 'S')) {
                rputs(&b, e >= 'a' ? " [" : " [^");
                rputs(&b, ce);
                rputs(&b, "]");
                i += 2;
            } else {
                i++;
                long v = rescape(re, end, &i);
                if (v < 0) { st = rfail(err, at, "unsupported escape (expected \\d \\w \\s \\D \\W \\S, \\n \\t \\r \\xHH \\uHHHH or an escaped symbol)"); break; }
                rputs(&b, " \"");
                rcp(&b, (uint32_t)v);
                rputs(&b, "\"");
            }
            can_repeat = 1;
        } else {
            rputs(&b, " \"");
            rcp(&b, rdecode(re, end, &i));
            rputs(&b, "\"");
            can_repeat = 1;
        }
    }
    if (st == OWL_OK && depth) st = rfail(err, len, "unclosed group (expected ')')");
    if (st == OWL_OK && b.oom) st = owl_fail(err, OWL_ERR_NOMEM, "regex: out of memory");
    rputs(&b, " )\n");
    if (st == OWL_OK && b.oom) st = owl_fail(err, OWL_ERR_NOMEM, "regex: out of memory");
    if (st == OWL_OK) {
        st = owl_grammar_compile_gbnf(b.s, b.n, out, err);
        if (st) owl_fail_prefix(err, "regex compiled to GBNF");
    }
    free(b.s);
    return st;
}
