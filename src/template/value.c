/* value.c: template values, the render arena, and the JavaScript-flavoured
 * conversions @huggingface/jinja applies when it prints, compares and
 * serialises values (see value.h for why JavaScript). */
#include "template/value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"

/* ---- failure and arena ------------------------------------------------------ */

void jfail(jctx *c, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    owl_fail(c->err, OWL_ERR_INPUT, "%s: %s", c->name ? c->name : "template", msg);
    longjmp(c->fail, 1);
}

struct arena_chunk {
    arena_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_SIZE (64u * 1024u)

void *jalloc(jctx *c, size_t n) {
    arena *a = &c->mem;
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0) n = 16;
    if (!a->head || a->head->size - a->head->used < n) {
        size_t size = n > CHUNK_SIZE / 2 ? n : CHUNK_SIZE;
        if (a->used + size > a->cap)
            jfail(c, "the render needs more than %llu MiB of memory (the limit)", (unsigned long long)(a->cap >> 20));
        arena_chunk *ch = malloc(sizeof *ch + size);
        if (!ch) jfail(c, "out of memory");
        ch->next = a->head;
        ch->used = 0;
        ch->size = size;
        a->head = ch;
        a->used += size;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

void arena_free(arena *a) {
    for (arena_chunk *ch = a->head, *next; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    a->head = NULL;
    a->used = 0;
}

void sb_put(jctx *c, strbuf *b, const char *s, size_t n) {
    if (n > c->max_output || b->n > c->max_output - n)
        jfail(c, "text longer than the output limit of %llu bytes", (unsigned long long)c->max_output);
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = jalloc(c, cap);
        if (b->n) memcpy(p, b->s, b->n);
        b->s = p;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
void sb_puts(jctx *c, strbuf *b, const char *s) { sb_put(c, b, s, strlen(s)); }
void sb_putc(jctx *c, strbuf *b, char ch) { sb_put(c, b, &ch, 1); }
value sb_value(jctx *c, strbuf *b) {
    (void)c;
    return v_str_ref(b->s ? b->s : "", b->n);
}

/* ---- constructors and containers ---------------------------------------------- */

value v_str(jctx *c, const char *s, size_t n) {
    char *p = jalloc(c, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return v_str_ref(p, n);
}
value v_str_ref(const char *s, size_t n) {
    value v = {.k = V_STR};
    v.u.str.s = s;
    v.u.str.n = n;
    return v;
}
value v_list(jctx *c, vkind k, size_t cap) {
    value v = {.k = k};
    v.u.list = jalloc(c, sizeof(vlist));
    v.u.list->n = 0;
    v.u.list->cap = cap;
    v.u.list->items = cap ? jalloc(c, cap * sizeof(value)) : NULL;
    return v;
}
value v_dict(jctx *c, vkind k) {
    value v = {.k = k};
    v.u.dict = jalloc(c, sizeof(vdict));
    memset(v.u.dict, 0, sizeof(vdict));
    return v;
}
value v_builtin(jctx *c, builtin_fn fn, value self, const char *name) {
    value v = {.k = V_FUNC};
    v.u.fn = jalloc(c, sizeof(vfunc));
    memset(v.u.fn, 0, sizeof(vfunc));
    v.u.fn->kind = F_BUILTIN;
    v.u.fn->fn = fn;
    v.u.fn->self = self;
    v.u.fn->name = name;
    return v;
}

#define MAX_ITEMS (1u << 24)

void list_push(jctx *c, value list, value item) {
    vlist *l = list.u.list;
    if (l->n == l->cap) {
        if (l->cap >= MAX_ITEMS) jfail(c, "a list grew past %u items", MAX_ITEMS);
        size_t cap = l->cap ? l->cap * 2 : 8;
        value *p = jalloc(c, cap * sizeof(value));
        if (l->n) memcpy(p, l->items, l->n * sizeof(value));
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = item;
}

static uint64_t hash_key(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void index_insert(vdict *d, size_t entry) {
    size_t mask = d->index_cap - 1, at = hash_key(d->keys[entry], d->klen[entry]) & mask;
    while (d->index[at]) at = (at + 1) & mask;
    d->index[at] = (uint32_t)(entry + 1);
}

static void index_rebuild(jctx *c, vdict *d) {
    d->index_cap = 64;
    while (d->index_cap < d->cap * 2) d->index_cap *= 2;
    d->index = jalloc(c, d->index_cap * sizeof(uint32_t));
    memset(d->index, 0, d->index_cap * sizeof(uint32_t));
    for (size_t i = 0; i < d->n; i++) index_insert(d, i);
}

value *dict_get(const vdict *d, const char *key, size_t klen) {
    if (d->index) {
        size_t mask = d->index_cap - 1, at = hash_key(key, klen) & mask;
        for (; d->index[at]; at = (at + 1) & mask) {
            size_t e = d->index[at] - 1;
            if (d->klen[e] == klen && !memcmp(d->keys[e], key, klen)) return &d->vals[e];
        }
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->klen[i] == klen && !memcmp(d->keys[i], key, klen)) return &d->vals[i];
    return NULL;
}

void dict_set(jctx *c, vdict *d, const char *key, size_t klen, value v) {
    value *have = dict_get(d, key, klen);
    if (have) {
        *have = v;
        return;
    }
    if (d->n == d->cap) {
        if (d->cap >= MAX_ITEMS) jfail(c, "a mapping grew past %u keys", MAX_ITEMS);
        size_t cap = d->cap ? d->cap * 2 : 8;
        const char **keys = jalloc(c, cap * sizeof *keys);
        size_t *klen2 = jalloc(c, cap * sizeof *klen2);
        value *vals = jalloc(c, cap * sizeof *vals);
        if (d->n) {
            memcpy(keys, d->keys, d->n * sizeof *keys);
            memcpy(klen2, d->klen, d->n * sizeof *klen2);
            memcpy(vals, d->vals, d->n * sizeof *vals);
        }
        d->keys = keys;
        d->klen = klen2;
        d->vals = vals;
        d->cap = cap;
        if (cap > 16) index_rebuild(c, d);
    }
    d->keys[d->n] = key;
    d->klen[d->n] = klen;
    d->vals[d->n] = v;
    d->n++;
    if (d->index) index_insert(d, d->n - 1);
}

/* ---- Unicode ------------------------------------------------------------------ */

size_t utf8_next(const char *s, size_t n, size_t i, int32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
    if (len <= 0) {
        *cp = 0xFFFD;
        return i + 1;
    }
    *cp = c;
    return i + (size_t)len;
}

int js_is_space(int32_t cp) {
    return (cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

size_t js_length(const char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i = utf8_next(s, n, i, &cp);
        units += cp > 0xFFFF ? 2 : 1;
    }
    return units;
}

value str_case(jctx *c, value s, int upper) {
    strbuf b = {0};
    const char *p = s.u.str.s;
    size_t n = s.u.str.n;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        int32_t cp;
        i = utf8_next(p, n, i, &cp);
        if (cp < 0x80) {
            char ch = (char)cp;
            if (upper && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
            if (!upper && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
            sb_putc(c, &b, ch);
            continue;
        }
        int32_t m = upper ? utf8proc_toupper(cp) : utf8proc_tolower(cp);
        if (m == cp) {
            sb_put(c, &b, p + at, i - at);
        } else {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t len = utf8proc_encode_char(m, enc);
            sb_put(c, &b, (const char *)enc, (size_t)len);
        }
    }
    return sb_value(c, &b);
}

/* ---- printing --------------------------------------------------------------------- */

const char *v_type_name(value v) {
    static const char *names[] = {"UndefinedValue", "NullValue",  "BooleanValue",          "IntegerValue",
                                  "FloatValue",     "StringValue", "ArrayValue",           "TupleValue",
                                  "ObjectValue",    "KeywordArgumentsValue", "NamespaceValue", "FunctionValue"};
    return names[v.k];
}

int v_truthy(value v) {
    switch (v.k) {
    case V_UNDEF: case V_NULL: return 0;
    case V_BOOL: return v.u.b;
    case V_INT: case V_FLOAT: return v.u.num != 0 && !isnan(v.u.num);
    case V_STR: return v.u.str.n > 0;
    case V_ARRAY: case V_TUPLE: return v.u.list->n > 0;
    case V_OBJECT: case V_KWARGS: return v.u.dict->n > 0;
    case V_NAMESPACE: case V_FUNC: return 1;
    }
    return 0;
}

/* Shortest digits that read back as x, as ECMAScript's Number::toString picks them. */
void js_number(jctx *c, strbuf *b, double x) {
    if (isnan(x)) { sb_puts(c, b, "NaN"); return; }
    if (isinf(x)) { sb_puts(c, b, x < 0 ? "-Infinity" : "Infinity"); return; }
    if (x == 0) { sb_puts(c, b, "0"); return; }
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    const char *q = buf;
    int neg = 0;
    if (*q == '-') { neg = 1; q++; }
    char digits[24];
    int k = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[k++] = *q;
    while (k > 1 && digits[k - 1] == '0') k--;
    digits[k] = 0;
    int n = atoi(q + 1) + 1; /* the decimal point sits after n digits */
    if (neg) sb_putc(c, b, '-');
    if (k <= n && n <= 21) {
        sb_put(c, b, digits, (size_t)k);
        for (int i = k; i < n; i++) sb_putc(c, b, '0');
    } else if (0 < n && n <= 21) {
        sb_put(c, b, digits, (size_t)n);
        sb_putc(c, b, '.');
        sb_put(c, b, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        sb_puts(c, b, "0.");
        for (int i = 0; i < -n; i++) sb_putc(c, b, '0');
        sb_put(c, b, digits, (size_t)k);
    } else {
        sb_putc(c, b, digits[0]);
        if (k > 1) {
            sb_putc(c, b, '.');
            sb_put(c, b, digits + 1, (size_t)(k - 1));
        }
        snprintf(buf, sizeof buf, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
        sb_puts(c, b, buf);
    }
}

void js_raw_string(jctx *c, strbuf *b, value v) {
    switch (v.k) {
    case V_UNDEF: sb_puts(c, b, "undefined"); return;
    case V_NULL: sb_puts(c, b, "null"); return;
    case V_BOOL: sb_puts(c, b, v.u.b ? "true" : "false"); return;
    case V_INT: case V_FLOAT: js_number(c, b, v.u.num); return;
    case V_STR: sb_put(c, b, v.u.str.s, v.u.str.n); return;
    case V_ARRAY: case V_TUPLE:
        for (size_t i = 0; i < v.u.list->n; i++) {
            if (i) sb_putc(c, b, ',');
            v_to_string(c, b, v.u.list->items[i]);
        }
        return;
    case V_OBJECT: case V_KWARGS: case V_NAMESPACE: sb_puts(c, b, "[object Map]"); return;
    case V_FUNC: sb_puts(c, b, "function () { [native code] }"); return;
    }
}

void v_to_string(jctx *c, strbuf *b, value v) {
    if (v.k == V_FLOAT && isfinite(v.u.num) && fmod(v.u.num, 1.0) == 0) {
        if (v.u.num == 0 && signbit(v.u.num)) { sb_puts(c, b, "-0.0"); return; }
        if (fabs(v.u.num) < 1e21) {
            char buf[48];
            snprintf(buf, sizeof buf, "%.1f", v.u.num);
            sb_puts(c, b, buf);
            return;
        }
    }
    if (v.k == V_ARRAY || v.k == V_TUPLE || v.k == V_OBJECT || v.k == V_KWARGS || v.k == V_NAMESPACE) {
        v_to_json(c, b, v, NULL, 0, 0);
        return;
    }
    js_raw_string(c, b, v);
}

static void json_string(jctx *c, strbuf *b, const char *s, size_t n, int ascii) {
    static const char hex[] = "0123456789abcdef";
    sb_putc(c, b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80) {
            i++;
            switch (ch) {
            case '"': sb_puts(c, b, "\\\""); continue;
            case '\\': sb_puts(c, b, "\\\\"); continue;
            case '\b': sb_puts(c, b, "\\b"); continue;
            case '\f': sb_puts(c, b, "\\f"); continue;
            case '\n': sb_puts(c, b, "\\n"); continue;
            case '\r': sb_puts(c, b, "\\r"); continue;
            case '\t': sb_puts(c, b, "\\t"); continue;
            }
            if (ch < 0x20 || (ascii && ch == 0x7f)) {
                char e[7] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], 0};
                sb_puts(c, b, e);
            } else {
                sb_putc(c, b, (char)ch);
            }
            continue;
        }
        size_t at = i;
        int32_t cp;
        i = utf8_next(s, n, i, &cp);
        if (!ascii) {
            sb_put(c, b, s + at, i - at);
            continue;
        }
        unsigned units[2] = {(unsigned)cp, 0};
        int nu = 1;
        if (cp > 0xFFFF) {
            units[0] = 0xD800 + (((unsigned)cp - 0x10000) >> 10);
            units[1] = 0xDC00 + (((unsigned)cp - 0x10000) & 0x3FF);
            nu = 2;
        }
        for (int k = 0; k < nu; k++) {
            char e[7] = {'\\', 'u', hex[(units[k] >> 12) & 15], hex[(units[k] >> 8) & 15], hex[(units[k] >> 4) & 15],
                         hex[units[k] & 15], 0};
            sb_puts(c, b, e);
        }
    }
    sb_putc(c, b, '"');
}

/* An approximation of String.prototype.localeCompare for sort_keys: letters
 * compare case-insensitively, lower case first on a tie. */
static int locale_cmp(const char *a, size_t an, const char *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        int fx = (x >= 'A' && x <= 'Z') ? x + 32 : x, fy = (y >= 'A' && y <= 'Z') ? y + 32 : y;
        if (fx != fy) return fx < fy ? -1 : 1;
    }
    if (an != bn) return an < bn ? -1 : 1;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return (unsigned char)a[i] > (unsigned char)b[i] ? -1 : 1;
    return 0;
}

void v_to_json(jctx *c, strbuf *b, value v, const json_opts *o, int depth, int undef_as_null) {
    static const json_opts none = {0};
    if (!o) o = &none;
    if (++c->depth > c->max_depth) jfail(c, "values nested deeper than %u levels", c->max_depth);
    const char *item_sep = o->item_sep ? o->item_sep : o->indent ? "," : ", ";
    const char *key_sep = o->key_sep ? o->key_sep : ": ";
    switch (v.k) {
    case V_NULL: sb_puts(c, b, "null"); break;
    case V_UNDEF: sb_puts(c, b, undef_as_null ? "null" : "undefined"); break;
    case V_BOOL: sb_puts(c, b, v.u.b ? "true" : "false"); break;
    case V_INT: case V_FLOAT:
        if (isfinite(v.u.num)) js_number(c, b, v.u.num);
        else sb_puts(c, b, "null");
        break;
    case V_STR: json_string(c, b, v.u.str.s, v.u.str.n, o->ensure_ascii); break;
    case V_ARRAY: case V_OBJECT: case V_NAMESPACE: {
        int is_arr = v.k == V_ARRAY;
        size_t n = is_arr ? v.u.list->n : v.u.dict->n;
        sb_putc(c, b, is_arr ? '[' : '{');
        size_t *order = NULL;
        if (!is_arr && o->sort_keys && n > 1) {
            const vdict *d = v.u.dict;
            order = jalloc(c, n * sizeof *order);
            for (size_t i = 0; i < n; i++) order[i] = i;
            for (size_t i = 1; i < n; i++) /* insertion sort: stable, and key counts are small */
                for (size_t j = i; j > 0 && locale_cmp(d->keys[order[j - 1]], d->klen[order[j - 1]], d->keys[order[j]],
                                                       d->klen[order[j]]) > 0; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        }
        for (size_t i = 0; i < n; i++) {
            if (i) sb_puts(c, b, item_sep);
            if (o->indent > 0) {
                sb_putc(c, b, '\n');
                for (int k = 0; k < (depth + 1) * o->indent; k++) sb_putc(c, b, ' ');
            }
            if (is_arr) {
                v_to_json(c, b, v.u.list->items[i], o, depth + 1, undef_as_null);
            } else {
                size_t e = order ? order[i] : i;
                json_string(c, b, v.u.dict->keys[e], v.u.dict->klen[e], o->ensure_ascii);
                sb_puts(c, b, key_sep);
                v_to_json(c, b, v.u.dict->vals[e], o, depth + 1, undef_as_null);
            }
        }
        if (o->indent > 0 && n > 0) {
            sb_putc(c, b, '\n');
            for (int k = 0; k < depth * o->indent; k++) sb_putc(c, b, ' ');
        }
        sb_putc(c, b, is_arr ? ']' : '}');
        break;
    }
    default: jfail(c, "Cannot convert to JSON: %s", v_type_name(v));
    }
    c->depth--;
}

/* ---- comparing ------------------------------------------------------------------------ */

/* ECMAScript StringToNumber. */
static double js_to_number(const char *s, size_t n) {
    size_t i = 0, j = n;
    while (i < j) {
        int32_t cp;
        size_t next = utf8_next(s, n, i, &cp);
        if (!js_is_space(cp)) break;
        i = next;
    }
    while (j > i) { /* trailing space: ASCII and the common Unicode ones */
        unsigned char ch = (unsigned char)s[j - 1];
        if (ch == ' ' || (ch >= 9 && ch <= 13)) j--;
        else break;
    }
    if (i == j) return 0;
    char buf[64];
    size_t len = j - i;
    if (len >= sizeof buf) return NAN;
    memcpy(buf, s + i, len);
    buf[len] = 0;
    if (!strcmp(buf, "Infinity") || !strcmp(buf, "+Infinity")) return INFINITY;
    if (!strcmp(buf, "-Infinity")) return -INFINITY;
    if (len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X' || buf[1] == 'o' || buf[1] == 'O' ||
                                     buf[1] == 'b' || buf[1] == 'B')) {
        int base = (buf[1] | 32) == 'x' ? 16 : (buf[1] | 32) == 'o' ? 8 : 2;
        char *end;
        double x = (double)strtoull(buf + 2, &end, base);
        return *end ? NAN : x;
    }
    for (size_t k = 0; k < len; k++) { /* a decimal literal only: no hex floats, inf or nan words */
        char ch = buf[k];
        if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-')) return NAN;
    }
    char *end;
    double x = strtod(buf, &end);
    return *end ? NAN : x;
}

static int nullish(value v) { return v.k == V_UNDEF || v.k == V_NULL; }
static int primitive(value v) { return v.k == V_BOOL || v_is_num(v) || v.k == V_STR; }
static double numeric(value v) { return v.k == V_BOOL ? (double)v.u.b : v.u.num; }
static const void *identity(value v) {
    return v_is_list(v) ? (const void *)v.u.list : v.k == V_FUNC ? (const void *)v.u.fn : (const void *)v.u.dict;
}

int v_loose_eq(jctx *c, value a, value b) {
    if (nullish(a) || nullish(b)) return nullish(a) && nullish(b);
    if (primitive(a) && primitive(b)) {
        if (a.k == V_STR && b.k == V_STR) return a.u.str.n == b.u.str.n && !memcmp(a.u.str.s, b.u.str.s, a.u.str.n);
        if (a.k == V_STR) return js_to_number(a.u.str.s, a.u.str.n) == numeric(b);
        if (b.k == V_STR) return numeric(a) == js_to_number(b.u.str.s, b.u.str.n);
        return numeric(a) == numeric(b);
    }
    if (!primitive(a) && !primitive(b)) return identity(a) == identity(b);
    /* an object against a primitive: the object becomes its string first */
    strbuf sb = {0};
    value obj = primitive(a) ? b : a, prim = primitive(a) ? a : b;
    js_raw_string(c, &sb, obj);
    return v_loose_eq(c, sb_value(c, &sb), prim);
}

int v_strict_eq(value a, value b) {
    if (v_is_num(a) && v_is_num(b)) return a.u.num == b.u.num;
    if (a.k != b.k) {
        /* same JavaScript type despite different tags: arrays/tuples and dicts are objects */
        if (primitive(a) || primitive(b) || nullish(a) || nullish(b)) return 0;
        return identity(a) == identity(b);
    }
    switch (a.k) {
    case V_UNDEF: case V_NULL: return 1;
    case V_BOOL: return a.u.b == b.u.b;
    case V_STR: return a.u.str.n == b.u.str.n && !memcmp(a.u.str.s, b.u.str.s, a.u.str.n);
    default: return identity(a) == identity(b);
    }
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int v_compare(jctx *c, value a, value b, int case_sensitive) {
    if (a.k == V_NULL && b.k == V_NULL) return 0;
    if (a.k == V_NULL || b.k == V_NULL) jfail(c, "Cannot compare %s with %s", v_type_name(a), v_type_name(b));
    if (a.k == V_UNDEF && b.k == V_UNDEF) return 0;
    if (a.k == V_UNDEF || b.k == V_UNDEF) jfail(c, "Cannot compare %s with %s", v_type_name(a), v_type_name(b));
    int an = v_is_num(a) || a.k == V_BOOL, bn = v_is_num(b) || b.k == V_BOOL;
    if (an && bn) {
        double x = numeric(a), y = numeric(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.k != b.k) jfail(c, "Cannot compare different types: %s and %s", v_type_name(a), v_type_name(b));
    if (a.k != V_STR) jfail(c, "Cannot compare type: %s", v_type_name(a));
    if (!case_sensitive) {
        a = str_case(c, a, 0);
        b = str_case(c, b, 0);
    }
    return bytes_cmp(a.u.str.s, a.u.str.n, b.u.str.s, b.u.str.n);
}
