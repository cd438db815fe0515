/* parse.c: chat-template source to syntax tree. Three stages, as in
 * @huggingface/jinja: preprocessing (drop one final newline, lstrip_blocks,
 * trim_blocks, remove {% generation %} markers), tokenising (whitespace
 * control, literals), and recursive descent with the reference's precedence.
 * Nesting is capped so hostile templates cannot exhaust the stack. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "template/ast.h"

#define MAX_PARSE_DEPTH 192

/* ---- preprocessing ------------------------------------------------------------- */

static int is_js_space_at(const char *s, size_t n, size_t i, size_t *next) {
    int32_t cp;
    *next = utf8_next(s, n, i, &cp);
    return js_is_space(cp);
}

/* Removes a {% generation %} / {% endgeneration %} marker at src[i] ("{%"), if
 * it is one; returns its length or 0. */
static size_t generation_tag(const char *s, size_t n, size_t i, int *lstrip, int *rstrip) {
    size_t j = i + 2, next;
    *lstrip = *rstrip = 0;
    if (j < n && s[j] == '-') { *lstrip = 1; j++; }
    while (j < n && is_js_space_at(s, n, j, &next)) j = next;
    if (j + 3 <= n && !memcmp(s + j, "end", 3) && j + 13 <= n && !memcmp(s + j + 3, "generation", 10)) j += 3;
    if (j + 10 > n || memcmp(s + j, "generation", 10)) return 0;
    j += 10;
    while (j < n && is_js_space_at(s, n, j, &next)) j = next;
    if (j < n && s[j] == '-') { *rstrip = 1; j++; }
    if (j + 2 > n || s[j] != '%' || s[j + 1] != '}') return 0;
    return j + 2 - i;
}

static char *preprocess(jctx *c, const char *src, size_t n, size_t *out_n) {
    if (n && src[n - 1] == '\n') n--;
    /* lstrip_blocks: spaces and tabs before a block tag at the start of a line go */
    strbuf a = {0};
    int line_start = 1;
    for (size_t i = 0; i < n;) {
        if (line_start) {
            size_t j = i;
            while (j < n && (src[j] == ' ' || src[j] == '\t')) j++;
            if (j + 1 < n && src[j] == '{' && (src[j + 1] == '#' || src[j + 1] == '%' || src[j + 1] == '-')) i = j;
            line_start = 0;
            continue;
        }
        char ch = src[i++];
        sb_putc(c, &a, ch);
        if (ch == '\n' || ch == '\r') line_start = 1;
        else if ((unsigned char)ch == 0xE2 && i + 1 < n && (unsigned char)src[i] == 0x80 &&
                 ((unsigned char)src[i + 1] == 0xA8 || (unsigned char)src[i + 1] == 0xA9)) {
            sb_put(c, &a, src + i, 2); /* U+2028 / U+2029 end lines too */
            i += 2;
            line_start = 1;
        }
    }
    /* trim_blocks: the newline right after a block tag goes */
    strbuf b = {0};
    for (size_t i = 0; i < a.n; i++) {
        sb_putc(c, &b, a.s[i]);
        if (a.s[i] == '}' && i > 0 && (a.s[i - 1] == '#' || a.s[i - 1] == '%' || a.s[i - 1] == '-') && i + 1 < a.n &&
            a.s[i + 1] == '\n')
            i++;
    }
    /* {% generation %} markers (training masks) render as nothing */
    strbuf d = {0};
    for (size_t i = 0; i < b.n;) {
        int ls, rs;
        size_t len;
        if (b.s[i] == '{' && i + 1 < b.n && b.s[i + 1] == '%' && (len = generation_tag(b.s, b.n, i, &ls, &rs))) {
            if (ls) { /* drop the whitespace before */
                size_t keep = 0;
                for (size_t k = 0, next; k < d.n; k = next)
                    if (!is_js_space_at(d.s, d.n, k, &next)) keep = next;
                d.n = keep;
            }
            i += len;
            if (rs) {
                size_t next;
                while (i < b.n && is_js_space_at(b.s, b.n, i, &next)) i = next;
            }
            continue;
        }
        sb_putc(c, &d, b.s[i++]);
    }
    *out_n = d.n;
    return d.s ? d.s : "";
}

/* ---- tokens --------------------------------------------------------------------- */

typedef enum {
    T_TEXT, T_NUM, T_STRING, T_IDENT, T_EQUALS, T_LPAREN, T_RPAREN, T_OPEN_STMT, T_CLOSE_STMT, T_OPEN_EXPR,
    T_CLOSE_EXPR, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA, T_DOT, T_COLON, T_PIPE, T_ADD, T_MUL,
    T_POW, T_CMP, T_UNARY, T_COMMENT
} ttype;

typedef struct token {
    ttype type;
    const char *s;
    size_t n;
    unsigned at; /* byte offset in the preprocessed source */
} token;

typedef struct lexer {
    jctx *c;
    const char *src;
    size_t n, pos;
    token *t;
    size_t nt, cap;
} lexer;

static unsigned line_at(const lexer *L, size_t pos) {
    unsigned line = 1;
    for (size_t i = 0; i < pos && i < L->n; i++) line += L->src[i] == '\n';
    return line;
}

static void push_token(lexer *L, ttype type, const char *s, size_t n, size_t at) {
    if (L->nt == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 256;
        token *t = jalloc(L->c, cap * sizeof *t);
        if (L->nt) memcpy(t, L->t, L->nt * sizeof *t);
        L->t = t;
        L->cap = cap;
    }
    token tk = {type, s, n, (unsigned)at};
    L->t[L->nt++] = tk;
}

static int last_type(const lexer *L) { return L->nt ? (int)L->t[L->nt - 1].type : -1; }

static int is_word(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int space_at(lexer *L, size_t *next) {
    return L->pos < L->n && is_js_space_at(L->src, L->n, L->pos, next);
}

static _Noreturn void lex_fail(lexer *L, const char *what) {
    jfail(L->c, "syntax error at line %u: %s", line_at(L, L->pos), what);
}

/* consumeWhile of the reference for whitespace: it fails at the end of input. */
static void skip_space_in_tag(lexer *L) {
    size_t next;
    while (space_at(L, &next)) {
        L->pos = next;
        if (L->pos >= L->n) lex_fail(L, "unexpected end of input");
    }
}

static void skip_space(lexer *L) {
    size_t next;
    while (space_at(L, &next)) L->pos = next;
}

static void strip_trailing_text(lexer *L) {
    if (!L->nt || L->t[L->nt - 1].type != T_TEXT) return;
    token *t = &L->t[L->nt - 1];
    size_t keep = 0;
    for (size_t i = 0, next; i < t->n; i = next)
        if (!is_js_space_at(t->s, t->n, i, &next)) keep = next;
    t->n = keep;
    if (!keep) L->nt--;
}

static void put_utf8(jctx *c, strbuf *b, uint32_t cp) {
    char e[4];
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (cp < 0x80) { e[0] = (char)cp; sb_put(c, b, e, 1); }
    else if (cp < 0x800) { e[0] = (char)(0xC0 | cp >> 6); e[1] = (char)(0x80 | (cp & 63)); sb_put(c, b, e, 2); }
    else { e[0] = (char)(0xE0 | cp >> 12); e[1] = (char)(0x80 | ((cp >> 6) & 63)); e[2] = (char)(0x80 | (cp & 63)); sb_put(c, b, e, 3); }
}

static void lex_string(lexer *L, char quote) {
    size_t start = ++L->pos;
    strbuf b = {0};
    sb_put(L->c, &b, "", 0);
    for (;;) {
        if (L->pos >= L->n) lex_fail(L, "unexpected end of input in a string literal");
        char ch = L->src[L->pos];
        if (ch == quote) break;
        if (ch == '\\') {
            if (++L->pos >= L->n) lex_fail(L, "unexpected end of input");
            char e = L->src[L->pos++];
            if (e == 'x' || e == 'u') {
                size_t len = e == 'x' ? 2 : 4;
                uint32_t cp = 0;
                if (L->pos + len > L->n) lex_fail(L, "invalid hexadecimal escape sequence");
                for (size_t k = 0; k < len; k++) {
                    char h = L->src[L->pos + k];
                    int d = is_digit(h) ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : -1;
                    if (d < 0) lex_fail(L, "invalid hexadecimal escape sequence");
                    cp = cp * 16 + (uint32_t)d;
                }
                put_utf8(L->c, &b, cp);
                L->pos += len;
                continue;
            }
            const char *from = "ntrbfv'\"\\", *to = "\n\t\r\b\f\v'\"\\";
            const char *hit = e ? strchr(from, e) : NULL;
            if (!hit) lex_fail(L, "unexpected escaped character");
            sb_putc(L->c, &b, to[hit - from]);
            continue;
        }
        sb_putc(L->c, &b, ch);
        if (++L->pos >= L->n) lex_fail(L, "unexpected end of input in a string literal");
    }
    (void)start;
    L->pos++; /* the closing quote */
    push_token(L, T_STRING, b.s, b.n, L->pos);
}

static void lex_digits(lexer *L) {
    while (L->pos < L->n && is_digit(L->src[L->pos])) {
        L->pos++;
        if (L->pos >= L->n) lex_fail(L, "unexpected end of input");
    }
}

static void tokenize(lexer *L) {
    static const struct { const char *seq; ttype type; } table[] = {
        {"{%", T_OPEN_STMT}, {"%}", T_CLOSE_STMT}, {"{{", T_OPEN_EXPR}, {"}}", T_CLOSE_EXPR}, {"(", T_LPAREN},
        {")", T_RPAREN},     {"{", T_LBRACE},      {"}", T_RBRACE},     {"[", T_LBRACKET},    {"]", T_RBRACKET},
        {",", T_COMMA},      {".", T_DOT},         {":", T_COLON},      {"|", T_PIPE},        {"<=", T_CMP},
        {">=", T_CMP},       {"==", T_CMP},        {"!=", T_CMP},       {"<", T_CMP},         {">", T_CMP},
        {"+", T_ADD},        {"-", T_ADD},         {"~", T_ADD},        {"**", T_POW},        {"*", T_MUL},
        {"//", T_MUL},       {"/", T_MUL},         {"%", T_MUL},        {"=", T_EQUALS},
    };
    const char *s = L->src;
    size_t n = L->n;
    int curly = 0;
    while (L->pos < n) {
        int last = last_type(L);
        if (last < 0 || last == T_CLOSE_STMT || last == T_CLOSE_EXPR || last == T_COMMENT) {
            size_t start = L->pos;
            while (L->pos < n && !(s[L->pos] == '{' && L->pos + 1 < n &&
                                   (s[L->pos + 1] == '%' || s[L->pos + 1] == '{' || s[L->pos + 1] == '#')))
                L->pos++;
            if (L->pos > start) {
                push_token(L, T_TEXT, s + start, L->pos - start, start);
                continue;
            }
        }
        if (s[L->pos] == '{' && L->pos + 1 < n && s[L->pos + 1] == '#') {
            L->pos += 2;
            int strip_before = L->pos < n && s[L->pos] == '-';
            if (strip_before) L->pos++;
            size_t start = L->pos;
            while (L->pos >= n || s[L->pos] != '#' || L->pos + 1 >= n || s[L->pos + 1] != '}') {
                if (L->pos + 2 >= n) lex_fail(L, "missing end of comment tag");
                L->pos++;
            }
            size_t len = L->pos - start;
            int strip_after = len > 0 && s[start + len - 1] == '-';
            if (strip_after) len--;
            if (strip_before) strip_trailing_text(L);
            push_token(L, T_COMMENT, s + start, len, start);
            L->pos += 2;
            if (strip_after) skip_space(L);
            continue;
        }
        if (L->pos + 3 <= n && !memcmp(s + L->pos, "{%-", 3)) {
            strip_trailing_text(L);
            push_token(L, T_OPEN_STMT, "{%", 2, L->pos);
            L->pos += 3;
            continue;
        }
        if (L->pos + 3 <= n && !memcmp(s + L->pos, "{{-", 3)) {
            strip_trailing_text(L);
            push_token(L, T_OPEN_EXPR, "{{", 2, L->pos);
            curly = 0;
            L->pos += 3;
            continue;
        }
        skip_space_in_tag(L);
        if (L->pos + 3 <= n && !memcmp(s + L->pos, "-%}", 3)) {
            push_token(L, T_CLOSE_STMT, "%}", 2, L->pos);
            L->pos += 3;
            skip_space(L);
            continue;
        }
        if (L->pos + 3 <= n && !memcmp(s + L->pos, "-}}", 3)) {
            push_token(L, T_CLOSE_EXPR, "}}", 2, L->pos);
            L->pos += 3;
            skip_space(L);
            continue;
        }
        char ch = s[L->pos];
        if (ch == '-' || ch == '+') {
            int lt = last_type(L);
            if (lt == T_TEXT || lt < 0) lex_fail(L, "unexpected character");
            if (!(lt == T_IDENT || lt == T_NUM || lt == T_STRING || lt == T_RPAREN || lt == T_RBRACKET)) {
                size_t start = L->pos++;
                size_t digits = L->pos;
                lex_digits(L);
                if (L->pos > digits && L->pos + 1 < n && s[L->pos] == '.' && is_digit(s[L->pos + 1])) {
                    L->pos++;
                    lex_digits(L);
                }
                push_token(L, L->pos > digits ? T_NUM : T_UNARY, s + start, L->pos - start, start);
                continue;
            }
        }
        int matched = 0;
        for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
            size_t len = strlen(table[k].seq);
            if (table[k].type == T_CLOSE_EXPR && curly > 0) continue;
            if (L->pos + len <= n && !memcmp(s + L->pos, table[k].seq, len)) {
                push_token(L, table[k].type, s + L->pos, len, L->pos);
                if (table[k].type == T_OPEN_EXPR) curly = 0;
                else if (table[k].type == T_LBRACE) curly++;
                else if (table[k].type == T_RBRACE) curly--;
                L->pos += len;
                matched = 1;
                break;
            }
        }
        if (matched) continue;
        if (ch == '\'' || ch == '"') {
            lex_string(L, ch);
            continue;
        }
        if (is_digit(ch)) {
            size_t start = L->pos;
            lex_digits(L);
            if (last_type(L) != T_DOT && L->pos + 1 < n && s[L->pos] == '.' && is_digit(s[L->pos + 1])) {
                L->pos++;
                lex_digits(L);
            }
            push_token(L, T_NUM, s + start, L->pos - start, start);
            continue;
        }
        if (is_word(ch)) {
            size_t start = L->pos;
            while (L->pos < n && is_word(s[L->pos])) {
                L->pos++;
                if (L->pos >= n) lex_fail(L, "unexpected end of input");
            }
            push_token(L, T_IDENT, s + start, L->pos - start, start);
            continue;
        }
        lex_fail(L, "unexpected character");
    }
}

/* ---- parser ----------------------------------------------------------------------- */

typedef struct parser {
    jctx *c;
    lexer *L;
    size_t cur;
    unsigned depth;
} parser;

static _Noreturn void parse_fail(parser *P, const char *what) {
    size_t at = P->cur < P->L->nt ? P->cur : P->L->nt ? P->L->nt - 1 : 0;
    if (P->L->nt && at < P->L->nt) {
        const token *t = &P->L->t[at];
        size_t show = t->n > 40 ? 40 : t->n;
        jfail(P->c, "syntax error at line %u: %s (at '%.*s')", line_at(P->L, t->at), what, (int)show, t->s);
    }
    jfail(P->c, "syntax error: %s", what);
}

static const token *peek(parser *P, size_t k) { return P->cur + k < P->L->nt ? &P->L->t[P->cur + k] : NULL; }
static int is_t(parser *P, ttype t) { const token *x = peek(P, 0); return x && x->type == t; }
static int tok_is(const token *t, const char *word) {
    return t && t->type == T_IDENT && t->n == strlen(word) && !memcmp(t->s, word, t->n);
}
static int is_ident(parser *P, const char *w) { return tok_is(peek(P, 0), w); }
static int is_stmt(parser *P, const char *w) {
    const token *a = peek(P, 0);
    return a && a->type == T_OPEN_STMT && tok_is(peek(P, 1), w);
}
static const token *expect(parser *P, ttype t, const char *what) {
    const token *x = peek(P, 0);
    if (!x || x->type != t) parse_fail(P, what);
    P->cur++;
    return x;
}
static void expect_ident(parser *P, const char *w) {
    if (!is_ident(P, w)) {
        char msg[64];
        snprintf(msg, sizeof msg, "expected '%s'", w);
        parse_fail(P, msg);
    }
    P->cur++;
}

static jnode *node(parser *P, jtype type) {
    jnode *x = jalloc(P->c, sizeof *x);
    memset(x, 0, sizeof *x);
    x->type = type;
    return x;
}

static void jl_push(jctx *c, jlist *l, jnode *x) {
    if ((l->n & (l->n - 1)) == 0) { /* grows at powers of two */
        size_t cap = l->n ? l->n * 2 : 4;
        jnode **items = jalloc(c, cap * sizeof *items);
        if (l->n) memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
    }
    l->items[l->n++] = x;
}

static void enter(parser *P) {
    if (++P->depth > MAX_PARSE_DEPTH) parse_fail(P, "nested too deeply");
}

static jnode *parse_any(parser *P);
static jnode *parse_expression(parser *P);
static jnode *parse_primary(parser *P);
static jnode *parse_call(parser *P, jnode *callee);

static void parse_body_until(parser *P, jlist *body, const char *const *ends, const char *what) {
    for (;;) {
        if (P->cur >= P->L->nt) parse_fail(P, what);
        for (const char *const *e = ends; *e; e++)
            if (is_stmt(P, *e)) return;
        jl_push(P->c, body, parse_any(P));
    }
}

static jnode *parse_sequence(parser *P, int primary) {
    jnode *first = primary ? parse_primary(P) : parse_expression(P);
    if (!is_t(P, T_COMMA)) return first;
    jnode *t = node(P, N_TUPLE);
    jl_push(P->c, &t->list, first);
    while (is_t(P, T_COMMA)) {
        P->cur++;
        jl_push(P->c, &t->list, primary ? parse_primary(P) : parse_expression(P));
    }
    return t;
}

/* Argument lists; mode_params: a macro's parameter declarations. */
static void parse_args(parser *P, jlist *args, int mode_params) {
    expect(P, T_LPAREN, "expected '(' for an argument list");
    int saw_kw = 0, saw_spread = 0;
    while (!is_t(P, T_RPAREN)) {
        if (P->cur >= P->L->nt) parse_fail(P, "unterminated argument list");
        const token *t = peek(P, 0);
        int kw_spread = t->type == T_POW, spread = t->type == T_MUL && t->n == 1 && t->s[0] == '*';
        if (mode_params && (kw_spread || spread)) parse_fail(P, "argument unpacking is not allowed in parameters");
        if (kw_spread) {
            P->cur++;
            jnode *x = node(P, N_KWSPREAD);
            x->a = parse_expression(P);
            jl_push(P->c, args, x);
            if (is_t(P, T_COMMA)) P->cur++;
            if (!is_t(P, T_RPAREN)) parse_fail(P, "`**` must be applied to the final argument");
            break;
        }
        jnode *arg;
        if (spread) {
            if (saw_spread) parse_fail(P, "only one `*` argument unpacking is allowed");
            saw_spread = 1;
            P->cur++;
            arg = node(P, N_SPREAD);
            arg->a = parse_expression(P);
        } else {
            arg = parse_expression(P);
            if (is_t(P, T_EQUALS)) {
                P->cur++;
                if (arg->type != N_IDENT) parse_fail(P, "expected an identifier before '='");
                jnode *kw = node(P, N_KWARG);
                kw->s = arg->s;
                kw->n = arg->n;
                kw->a = parse_expression(P);
                arg = kw;
            }
            if (mode_params) {
                if (arg->type != N_IDENT && arg->type != N_KWARG) parse_fail(P, "expected a parameter name");
                for (size_t i = 0; i < args->n; i++)
                    if (args->items[i]->n == arg->n && !memcmp(args->items[i]->s, arg->s, arg->n))
                        parse_fail(P, "duplicate parameter name");
            }
            if (arg->type == N_KWARG) saw_kw = 1;
            else if (saw_kw) parse_fail(P, mode_params ? "non-default argument follows default argument"
                                                       : "positional arguments must come before keyword arguments");
            else if (saw_spread) parse_fail(P, "positional arguments must not follow `*` unpacking");
        }
        jl_push(P->c, args, arg);
        if (is_t(P, T_COMMA)) P->cur++;
    }
    P->cur++;
}

static jnode *parse_member_args(parser *P) {
    jnode *slots[3] = {0};
    size_t n = 0;
    int is_slice = 0;
    while (!is_t(P, T_RBRACKET)) {
        if (P->cur >= P->L->nt) parse_fail(P, "unterminated '['");
        if (n == 3) parse_fail(P, "expected 0-3 arguments for a slice");
        if (is_t(P, T_COLON)) {
            slots[n++] = NULL;
            P->cur++;
            is_slice = 1;
        } else {
            slots[n++] = parse_expression(P);
            if (is_t(P, T_COLON)) {
                P->cur++;
                is_slice = 1;
            }
        }
    }
    if (n == 0) parse_fail(P, "expected an index or slice inside '[]'");
    if (!is_slice) return slots[0];
    jnode *s = node(P, N_SLICE);
    s->a = slots[0];
    s->b = n > 1 ? slots[1] : NULL;
    s->c = n > 2 ? slots[2] : NULL;
    return s;
}

static jnode *parse_member(parser *P, jnode *object) {
    while (is_t(P, T_DOT) || is_t(P, T_LBRACKET)) {
        int computed = is_t(P, T_LBRACKET);
        P->cur++;
        jnode *m = node(P, N_MEMBER);
        m->a = object;
        m->flag = computed;
        if (computed) {
            m->b = parse_member_args(P);
            expect(P, T_RBRACKET, "expected ']'");
        } else {
            m->b = parse_primary(P);
            if (m->b->type != N_IDENT && m->b->type != N_INT) parse_fail(P, "expected a name after '.'");
        }
        object = m;
    }
    return object;
}

static jnode *parse_call(parser *P, jnode *callee) {
    enter(P);
    jnode *x = node(P, N_CALL);
    x->a = callee;
    parse_args(P, &x->list, 0);
    x = parse_member(P, x);
    if (is_t(P, T_LPAREN)) x = parse_call(P, x);
    P->depth--;
    return x;
}

static jnode *parse_call_member(parser *P) {
    jnode *m = parse_member(P, parse_primary(P));
    return is_t(P, T_LPAREN) ? parse_call(P, m) : m;
}

static jnode *parse_unary_sign(parser *P) {
    const token *t = peek(P, 0);
    if (t && (t->type == T_UNARY || t->type == T_ADD) && t->n == 1 && (t->s[0] == '-' || t->s[0] == '+')) {
        enter(P);
        P->cur++;
        jnode *u = node(P, N_UNARY);
        u->op = t->s[0] == '-' ? OP_SUB : OP_ADD;
        u->a = parse_unary_sign(P);
        P->depth--;
        return u;
    }
    return parse_call_member(P);
}

static jnode *parse_filter(parser *P) {
    jnode *operand = parse_unary_sign(P);
    while (is_t(P, T_PIPE)) {
        P->cur++;
        jnode *f = parse_primary(P);
        if (f->type != N_IDENT) parse_fail(P, "expected a filter name after '|'");
        if (is_t(P, T_LPAREN)) f = parse_call(P, f);
        jnode *x = node(P, N_FILTER);
        x->a = operand;
        x->b = f;
        operand = x;
    }
    return operand;
}

static jnode *parse_test(parser *P) {
    jnode *operand = parse_filter(P);
    while (is_ident(P, "is")) {
        P->cur++;
        int negate = is_ident(P, "not");
        if (negate) P->cur++;
        jnode *name = parse_primary(P);
        if (name->type != N_IDENT) parse_fail(P, "expected a test name after 'is'");
        jnode *x = node(P, N_TEST);
        x->a = operand;
        x->flag = negate;
        x->s = name->s;
        x->n = name->n;
        operand = x;
    }
    return operand;
}

static jnode *binary(parser *P, jop op, jnode *a, jnode *b) {
    jnode *x = node(P, N_BINARY);
    x->op = op;
    x->a = a;
    x->b = b;
    return x;
}

static jnode *parse_power(parser *P) {
    jnode *left = parse_test(P);
    while (is_t(P, T_POW)) {
        P->cur++;
        left = binary(P, OP_POW, left, parse_test(P));
    }
    return left;
}

static jnode *parse_mul(parser *P) {
    jnode *left = parse_power(P);
    while (is_t(P, T_MUL)) {
        const token *t = peek(P, 0);
        P->cur++;
        jop op = t->n == 2 ? OP_FLOORDIV : t->s[0] == '*' ? OP_MUL : t->s[0] == '/' ? OP_DIV : OP_MOD;
        left = binary(P, op, left, parse_power(P));
    }
    return left;
}

static jnode *parse_add(parser *P) {
    jnode *left = parse_mul(P);
    while (is_t(P, T_ADD)) {
        const token *t = peek(P, 0);
        P->cur++;
        jop op = t->s[0] == '+' ? OP_ADD : t->s[0] == '-' ? OP_SUB : OP_CONCAT;
        left = binary(P, op, left, parse_mul(P));
    }
    return left;
}

static jnode *parse_comparison(parser *P) {
    jnode *left = parse_add(P);
    for (;;) {
        jop op;
        if (is_ident(P, "not") && tok_is(peek(P, 1), "in")) {
            op = OP_NOT_IN;
            P->cur += 2;
        } else if (is_ident(P, "in")) {
            op = OP_IN;
            P->cur++;
        } else if (is_t(P, T_CMP)) {
            const token *t = peek(P, 0);
            P->cur++;
            if (t->n == 2) op = t->s[0] == '<' ? OP_LE : t->s[0] == '>' ? OP_GE : t->s[0] == '=' ? OP_EQ : OP_NE;
            else op = t->s[0] == '<' ? OP_LT : OP_GT;
        } else {
            break;
        }
        left = binary(P, op, left, parse_add(P));
    }
    return left;
}

static jnode *parse_not(parser *P) {
    if (!is_ident(P, "not")) return parse_comparison(P);
    enter(P);
    P->cur++;
    jnode *u = node(P, N_UNARY);
    u->op = OP_NOT;
    u->a = parse_not(P);
    P->depth--;
    return u;
}

static jnode *parse_and(parser *P) {
    jnode *left = parse_not(P);
    while (is_ident(P, "and")) {
        P->cur++;
        left = binary(P, OP_AND, left, parse_not(P));
    }
    return left;
}

static jnode *parse_or(parser *P) {
    jnode *left = parse_and(P);
    while (is_ident(P, "or")) {
        P->cur++;
        left = binary(P, OP_OR, left, parse_and(P));
    }
    return left;
}

static jnode *parse_if_expr(parser *P) {
    jnode *a = parse_or(P);
    if (!is_ident(P, "if")) return a;
    P->cur++;
    jnode *test = parse_or(P);
    if (is_ident(P, "else")) {
        P->cur++;
        jnode *t = node(P, N_TERNARY);
        t->a = test;
        t->b = a;
        t->c = parse_if_expr(P);
        return t;
    }
    jnode *s = node(P, N_SELECT);
    s->a = a;
    s->b = test;
    return s;
}

static jnode *parse_expression(parser *P) {
    enter(P);
    jnode *x = parse_if_expr(P);
    P->depth--;
    return x;
}

static jnode *parse_primary(parser *P) {
    const token *t = peek(P, 0);
    if (!t) parse_fail(P, "unexpected end of template in an expression");
    P->cur++;
    switch (t->type) {
    case T_NUM: {
        int is_float = memchr(t->s, '.', t->n) != NULL;
        jnode *x = node(P, is_float ? N_FLOAT : N_INT);
        char buf[400];
        size_t len = t->n < sizeof buf - 1 ? t->n : sizeof buf - 1;
        memcpy(buf, t->s, len);
        buf[len] = 0;
        x->num = strtod(buf, NULL);
        return x;
    }
    case T_STRING: {
        jnode *x = node(P, N_STR);
        x->s = t->s;
        x->n = t->n;
        if (is_t(P, T_STRING)) { /* adjacent literals concatenate */
            strbuf b = {0};
            sb_put(P->c, &b, t->s, t->n);
            while (is_t(P, T_STRING)) {
                sb_put(P->c, &b, peek(P, 0)->s, peek(P, 0)->n);
                P->cur++;
            }
            x->s = b.s;
            x->n = b.n;
        }
        return x;
    }
    case T_IDENT: {
        jnode *x = node(P, N_IDENT);
        x->s = t->s;
        x->n = t->n;
        return x;
    }
    case T_LPAREN: {
        enter(P);
        jnode *x = parse_sequence(P, 0);
        expect(P, T_RPAREN, "expected ')'");
        P->depth--;
        return x;
    }
    case T_LBRACKET: {
        enter(P);
        jnode *x = node(P, N_ARRAY);
        while (!is_t(P, T_RBRACKET)) {
            if (P->cur >= P->L->nt) parse_fail(P, "unterminated '['");
            jl_push(P->c, &x->list, parse_expression(P));
            if (is_t(P, T_COMMA)) P->cur++;
        }
        P->cur++;
        P->depth--;
        return x;
    }
    case T_LBRACE: {
        enter(P);
        jnode *x = node(P, N_OBJECT);
        while (!is_t(P, T_RBRACE)) {
            if (P->cur >= P->L->nt) parse_fail(P, "unterminated '{'");
            jl_push(P->c, &x->list, parse_expression(P));
            expect(P, T_COLON, "expected ':' between key and value");
            jl_push(P->c, &x->alt, parse_expression(P));
            if (is_t(P, T_COMMA)) P->cur++;
        }
        P->cur++;
        P->depth--;
        return x;
    }
    default:
        P->cur--;
        parse_fail(P, "unexpected token in an expression");
    }
}

/* Which of kwargs/varargs a macro body reads without declaring them. */
static int special_args(const jnode *x) {
    if (!x) return 0;
    int f = 0;
    if (x->type == N_IDENT) {
        if (x->n == 6 && !memcmp(x->s, "kwargs", 6)) f |= 1;
        if (x->n == 7 && !memcmp(x->s, "varargs", 7)) f |= 2;
        return f;
    }
    if (x->type == N_KWARG) return special_args(x->a);
    f |= special_args(x->a) | special_args(x->b) | special_args(x->c);
    for (size_t i = 0; i < x->list.n; i++) f |= special_args(x->list.items[i]);
    for (size_t i = 0; i < x->alt.n; i++) f |= special_args(x->alt.items[i]);
    return f;
}

static int macro_specials(const jlist *params, const jlist *body) {
    int f = 0;
    for (size_t i = 0; i < body->n; i++) f |= special_args(body->items[i]);
    for (size_t i = 0; i < params->n; i++) {
        const jnode *p = params->items[i];
        if (p->type == N_KWARG) f |= special_args(p->a);
        if (p->n == 6 && !memcmp(p->s, "kwargs", 6)) f &= ~1;
        if (p->n == 7 && !memcmp(p->s, "varargs", 7)) f &= ~2;
    }
    return f;
}

static void end_block(parser *P, const char *name) {
    expect(P, T_OPEN_STMT, "expected '{%'");
    expect_ident(P, name);
    expect(P, T_CLOSE_STMT, "expected '%}'");
}

static jnode *parse_if_stmt(parser *P) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const endif[] = {"endif", NULL};
    enter(P);
    jnode *x = node(P, N_IF);
    x->a = parse_expression(P);
    expect(P, T_CLOSE_STMT, "expected '%}'");
    parse_body_until(P, &x->list, ends, "expected {% endif %}");
    if (is_stmt(P, "elif")) {
        P->cur += 2;
        jl_push(P->c, &x->alt, parse_if_stmt(P));
    } else if (is_stmt(P, "else")) {
        P->cur += 2;
        expect(P, T_CLOSE_STMT, "expected '%}'");
        parse_body_until(P, &x->alt, endif, "expected {% endif %}");
    }
    P->depth--;
    return x;
}

static jnode *parse_statement(parser *P) {
    expect(P, T_OPEN_STMT, "expected '{%'");
    const token *t = peek(P, 0);
    if (!t || t->type != T_IDENT) parse_fail(P, "expected a statement name after '{%'");
    P->cur++;
    jnode *x;
    if (tok_is(t, "set")) {
        static const char *const ends[] = {"endset", NULL};
        x = node(P, N_SET);
        x->a = parse_sequence(P, 0);
        if (is_t(P, T_EQUALS)) {
            P->cur++;
            x->b = parse_sequence(P, 0);
        } else {
            expect(P, T_CLOSE_STMT, "expected '%}'");
            parse_body_until(P, &x->list, ends, "expected {% endset %}");
            P->cur++;
            expect_ident(P, "endset");
        }
        expect(P, T_CLOSE_STMT, "expected '%}'");
    } else if (tok_is(t, "if")) {
        x = parse_if_stmt(P);
        end_block(P, "endif");
    } else if (tok_is(t, "macro")) {
        static const char *const ends[] = {"endmacro", NULL};
        x = node(P, N_MACRO);
        jnode *name = parse_primary(P);
        if (name->type != N_IDENT) parse_fail(P, "expected a macro name");
        x->s = name->s;
        x->n = name->n;
        parse_args(P, &x->alt, 1);
        expect(P, T_CLOSE_STMT, "expected '%}'");
        parse_body_until(P, &x->list, ends, "expected {% endmacro %}");
        end_block(P, "endmacro");
        x->flag = macro_specials(&x->alt, &x->list);
    } else if (tok_is(t, "for")) {
        static const char *const ends[] = {"endfor", "else", NULL};
        static const char *const endfor[] = {"endfor", NULL};
        x = node(P, N_FOR);
        x->a = parse_sequence(P, 1);
        if (x->a->type != N_IDENT && x->a->type != N_TUPLE) parse_fail(P, "expected a loop variable");
        if (!is_ident(P, "in")) parse_fail(P, "expected 'in' after the loop variable");
        P->cur++;
        x->b = parse_expression(P);
        expect(P, T_CLOSE_STMT, "expected '%}'");
        parse_body_until(P, &x->list, ends, "expected {% endfor %}");
        if (is_stmt(P, "else")) {
            P->cur += 2;
            expect(P, T_CLOSE_STMT, "expected '%}'");
            parse_body_until(P, &x->alt, endfor, "expected {% endfor %}");
        }
        end_block(P, "endfor");
    } else if (tok_is(t, "call")) {
        static const char *const ends[] = {"endcall", NULL};
        x = node(P, N_CALLBLOCK);
        if (is_t(P, T_LPAREN)) parse_args(P, &x->alt, 1);
        jnode *callee = parse_primary(P);
        if (callee->type != N_IDENT) parse_fail(P, "expected a macro name after 'call'");
        jnode *call = node(P, N_CALL);
        call->a = callee;
        parse_args(P, &call->list, 0);
        x->a = call;
        expect(P, T_CLOSE_STMT, "expected '%}'");
        parse_body_until(P, &x->list, ends, "expected {% endcall %}");
        end_block(P, "endcall");
        x->flag = macro_specials(&x->alt, &x->list);
    } else if (tok_is(t, "break") || tok_is(t, "continue")) {
        x = node(P, tok_is(t, "break") ? N_BREAK : N_CONTINUE);
        expect(P, T_CLOSE_STMT, "expected '%}'");
    } else if (tok_is(t, "filter")) {
        static const char *const ends[] = {"endfilter", NULL};
        x = node(P, N_FILTERBLOCK);
        x->a = parse_primary(P);
        if (x->a->type == N_IDENT && is_t(P, T_LPAREN)) x->a = parse_call(P, x->a);
        expect(P, T_CLOSE_STMT, "expected '%}'");
        parse_body_until(P, &x->list, ends, "expected {% endfilter %}");
        end_block(P, "endfilter");
    } else {
        P->cur--;
        parse_fail(P, "unknown statement");
    }
    return x;
}

static jnode *parse_any(parser *P) {
    const token *t = peek(P, 0);
    enter(P);
    jnode *x;
    switch (t->type) {
    case T_COMMENT:
        P->cur++;
        x = node(P, N_COMMENT);
        break;
    case T_TEXT:
        P->cur++;
        x = node(P, N_TEXT);
        x->s = t->s;
        x->n = t->n;
        break;
    case T_OPEN_STMT: x = parse_statement(P); break;
    case T_OPEN_EXPR:
        P->cur++;
        x = parse_expression(P);
        expect(P, T_CLOSE_EXPR, "expected '}}'");
        break;
    default: parse_fail(P, "unexpected token");
    }
    P->depth--;
    return x;
}

jprogram *jparse(jctx *c, const char *src, size_t n) {
    lexer L = {0};
    L.c = c;
    L.src = preprocess(c, src, n, &L.n);
    tokenize(&L);
    parser P = {c, &L, 0, 0};
    jprogram *prog = jalloc(c, sizeof *prog);
    memset(prog, 0, sizeof *prog);
    while (P.cur < L.nt) jl_push(c, &prog->body, parse_any(&P));
    return prog;
}
