/* builtins.c: the filters, tests, methods and globals chat templates may use,
 * each with the behaviour (and the errors) of @huggingface/jinja, including
 * where that differs from Python's Jinja (e.g. strip() ignores its argument,
 * int on a float floors). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template/interp.h"

static int name_is(const char *s, size_t n, const char *w) { return n == strlen(w) && !memcmp(s, w, n); }

static value str_of(jctx *c, const char *s) { return v_str(c, s, strlen(s)); }

/* ---- string helpers -------------------------------------------------------------- */

static value trim(jctx *c, value s, int left, int right) {
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, start = 0, end = n;
    if (left) {
        while (start < n) {
            int32_t cp;
            size_t next = utf8_next(p, n, start, &cp);
            if (!js_is_space(cp)) break;
            start = next;
        }
    }
    if (right) {
        size_t keep = start;
        for (size_t i = start, next; i < n; i = next) {
            int32_t cp;
            next = utf8_next(p, n, i, &cp);
            if (!js_is_space(cp)) keep = next;
        }
        end = keep;
    }
    (void)c;
    return v_str_ref(p + start, end - start);
}

static int is_word(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* value.replace(/\b\w/g, toUpperCase): ASCII word starts only. */
static value title_case(jctx *c, value s) {
    char *p = jalloc(c, s.u.str.n + 1);
    memcpy(p, s.u.str.s, s.u.str.n);
    p[s.u.str.n] = 0;
    for (size_t i = 0; i < s.u.str.n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (is_word(ch) && (i == 0 || !is_word((unsigned char)p[i - 1])) && ch >= 'a' && ch <= 'z') p[i] = (char)(ch - 32);
    }
    return v_str_ref(p, s.u.str.n);
}

static value capitalize(jctx *c, value s) {
    if (!s.u.str.n) return s;
    int32_t cp;
    size_t first = utf8_next(s.u.str.s, s.u.str.n, 0, &cp);
    value head = str_case(c, v_str_ref(s.u.str.s, first), 1);
    strbuf b = {0};
    sb_put(c, &b, head.u.str.s, head.u.str.n);
    sb_put(c, &b, s.u.str.s + first, s.u.str.n - first);
    return sb_value(c, &b);
}

static int has_prefix(value s, value p) { return p.u.str.n <= s.u.str.n && !memcmp(s.u.str.s, p.u.str.s, p.u.str.n); }
static int has_suffix(value s, value p) {
    return p.u.str.n <= s.u.str.n && !memcmp(s.u.str.s + s.u.str.n - p.u.str.n, p.u.str.s, p.u.str.n);
}

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0) return h;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == nd[0] && !memcmp(h + i, nd, nn)) return h + i;
    return NULL;
}

/* utils.replace of the reference: at most count replacements (count < 0 or null: all). */
static value replace_str(jctx *c, value s, value old, value rep, double count) {
    if (count == 0) return s;
    double left = count < 0 || isnan(count) ? INFINITY : count;
    strbuf b = {0};
    sb_put(c, &b, "", 0);
    const char *p = s.u.str.s;
    size_t n = s.u.str.n;
    if (old.u.str.n == 0) { /* matches before every code point and at the end */
        for (size_t i = 0;;) {
            if (left > 0) {
                sb_put(c, &b, rep.u.str.s, rep.u.str.n);
                left--;
            }
            if (i >= n) break;
            int32_t cp;
            size_t next = utf8_next(p, n, i, &cp);
            sb_put(c, &b, p + i, next - i);
            i = next;
        }
        return sb_value(c, &b);
    }
    size_t i = 0;
    while (i < n) {
        const char *hit = left > 0 ? find_bytes(p + i, n - i, old.u.str.s, old.u.str.n) : NULL;
        if (!hit) break;
        sb_put(c, &b, p + i, (size_t)(hit - (p + i)));
        sb_put(c, &b, rep.u.str.s, rep.u.str.n);
        i = (size_t)(hit - p) + old.u.str.n;
        left--;
    }
    sb_put(c, &b, p + i, n - i);
    return sb_value(c, &b);
}

/* parseInt(s, 10) / parseFloat(s); NaN when no number starts the text. */
static double js_parse_number(value s, int integer) {
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, i = 0;
    while (i < n) {
        int32_t cp;
        size_t next = utf8_next(p, n, i, &cp);
        if (!js_is_space(cp)) break;
        i = next;
    }
    char buf[128];
    size_t k = 0;
    if (i < n && (p[i] == '+' || p[i] == '-')) buf[k++] = p[i++];
    if (!integer && n - i >= 8 && !memcmp(p + i, "Infinity", 8)) return buf[0] == '-' ? -INFINITY : INFINITY;
    size_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && k < sizeof buf - 8) { buf[k++] = p[i++]; digits++; }
    if (!integer) {
        if (i < n && p[i] == '.') {
            buf[k++] = p[i++];
            while (i < n && p[i] >= '0' && p[i] <= '9' && k < sizeof buf - 8) { buf[k++] = p[i++]; digits++; }
        }
        if (digits && i < n && (p[i] == 'e' || p[i] == 'E')) {
            size_t save = k, j = i + 1;
            char e[16];
            size_t ek = 0;
            e[ek++] = 'e';
            if (j < n && (p[j] == '+' || p[j] == '-')) e[ek++] = p[j++];
            size_t ed = 0;
            while (j < n && p[j] >= '0' && p[j] <= '9' && ek < sizeof e - 1) { e[ek++] = p[j++]; ed++; }
            if (ed) {
                memcpy(buf + k, e, ek);
                k += ek;
            } else {
                k = save;
            }
        }
    }
    if (!digits) return NAN;
    buf[k] = 0;
    return strtod(buf, NULL);
}

/* ---- methods bound to strings and mappings ---------------------------------------------- */

static value m_upper(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return str_case(c, self, 1); }
static value m_lower(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return str_case(c, self, 0); }
static value m_strip(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return trim(c, self, 1, 1); }
static value m_lstrip(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return trim(c, self, 1, 0); }
static value m_rstrip(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return trim(c, self, 0, 1); }
static value m_title(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return title_case(c, self); }
static value m_capitalize(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return capitalize(c, self); }

static value affix(jctx *c, value self, value *a, size_t n, int prefix) {
    const char *name = prefix ? "startswith" : "endswith";
    if (!n) jfail(c, "%s() requires at least one argument", name);
    if (a[0].k == V_STR) return v_bool(prefix ? has_prefix(self, a[0]) : has_suffix(self, a[0]));
    if (v_is_list(a[0])) {
        for (size_t i = 0; i < a[0].u.list->n; i++) {
            value p = a[0].u.list->items[i];
            if (p.k != V_STR) jfail(c, "%s() tuple elements must be strings", name);
            if (prefix ? has_prefix(self, p) : has_suffix(self, p)) return v_bool(1);
        }
        return v_bool(0);
    }
    jfail(c, "%s() argument must be a string or tuple of strings", name);
}
static value m_startswith(jctx *c, value self, value *a, size_t n, jenv *e) { (void)e; return affix(c, self, a, n, 1); }
static value m_endswith(jctx *c, value self, value *a, size_t n, jenv *e) { (void)e; return affix(c, self, a, n, 0); }

static value m_split(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)e;
    value sep = n > 0 ? a[0] : v_null();
    if (sep.k != V_STR && sep.k != V_NULL) jfail(c, "sep argument must be a string or null");
    value maxv = n > 1 ? a[1] : v_int(-1);
    if (maxv.k != V_INT) jfail(c, "maxsplit argument must be a number");
    double maxsplit = maxv.u.num;
    value out = v_list(c, V_ARRAY, 4);
    const char *p = self.u.str.s;
    size_t len = self.u.str.n;
    if (sep.k == V_NULL) {
        value t = trim(c, self, 1, 0);
        p = t.u.str.s;
        len = t.u.str.n;
        for (size_t i = 0; i < len;) {
            int32_t cp;
            size_t next = utf8_next(p, len, i, &cp);
            if (js_is_space(cp)) { i = next; continue; }
            size_t start = i, end = i;
            while (end < len) {
                size_t nx = utf8_next(p, len, end, &cp);
                if (js_is_space(cp)) break;
                end = nx;
            }
            if (maxsplit != -1 && (double)out.u.list->n >= maxsplit) {
                list_push(c, out, v_str_ref(p + start, len - start));
                break;
            }
            list_push(c, out, v_str_ref(p + start, end - start));
            i = end;
        }
        return out;
    }
    if (sep.u.str.n == 0) jfail(c, "empty separator");
    size_t i = 0;
    for (;;) {
        const char *hit = find_bytes(p + i, len - i, sep.u.str.s, sep.u.str.n);
        if (!hit) break;
        list_push(c, out, v_str_ref(p + i, (size_t)(hit - (p + i))));
        i = (size_t)(hit - p) + sep.u.str.n;
    }
    list_push(c, out, v_str_ref(p + i, len - i));
    if (maxsplit != -1 && (double)out.u.list->n > maxsplit) {
        /* the pieces past maxsplit join back with the separator */
        size_t keep = maxsplit < 0 ? 0 : (size_t)maxsplit;
        strbuf b = {0};
        sb_put(c, &b, "", 0);
        for (size_t k = keep; k < out.u.list->n; k++) {
            if (k > keep) sb_put(c, &b, sep.u.str.s, sep.u.str.n);
            sb_put(c, &b, out.u.list->items[k].u.str.s, out.u.list->items[k].u.str.n);
        }
        out.u.list->n = keep;
        list_push(c, out, sb_value(c, &b));
    }
    return out;
}

static value m_replace(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)e;
    if (n < 2) jfail(c, "replace() requires at least two arguments");
    if (a[0].k != V_STR || a[1].k != V_STR) jfail(c, "replace() arguments must be strings");
    value count = v_null();
    if (n > 2) {
        if (a[2].k == V_KWARGS) {
            value *cv = dict_get(a[2].u.dict, "count", 5);
            count = cv ? *cv : v_null();
        } else {
            count = a[2];
        }
    }
    if (count.k != V_INT && count.k != V_NULL) jfail(c, "replace() count argument must be a number or null");
    return replace_str(c, self, a[0], a[1], count.k == V_NULL ? -1 : count.u.num);
}

static value dict_items(jctx *c, value d) {
    value out = v_list(c, V_ARRAY, d.u.dict->n);
    for (size_t i = 0; i < d.u.dict->n; i++) {
        value pair = v_list(c, V_ARRAY, 2);
        list_push(c, pair, v_str_ref(d.u.dict->keys[i], d.u.dict->klen[i]));
        list_push(c, pair, d.u.dict->vals[i]);
        list_push(c, out, pair);
    }
    return out;
}

static value m_get(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)e;
    if (!n || a[0].k != V_STR) jfail(c, "Object key must be a string: got %s", n ? v_type_name(a[0]) : "undefined");
    value *v = dict_get(self.u.dict, a[0].u.str.s, a[0].u.str.n);
    if (v) return *v;
    return n > 1 ? a[1] : v_null();
}
static value m_items(jctx *c, value self, value *a, size_t n, jenv *e) { (void)a; (void)n; (void)e; return dict_items(c, self); }
static value m_keys(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)a; (void)n; (void)e;
    value out = v_list(c, V_ARRAY, self.u.dict->n);
    for (size_t i = 0; i < self.u.dict->n; i++) list_push(c, out, v_str_ref(self.u.dict->keys[i], self.u.dict->klen[i]));
    return out;
}
static value m_values(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)a; (void)n; (void)e;
    value out = v_list(c, V_ARRAY, self.u.dict->n);
    for (size_t i = 0; i < self.u.dict->n; i++) list_push(c, out, self.u.dict->vals[i]);
    return out;
}

/* ---- sorting: stable merge sort with a comparator that may fail ------------------------- */

typedef struct sort_key { value item, key; } sort_key;
typedef struct sort_opts { int case_sensitive, reverse; } sort_opts;

static void merge_sort(jctx *c, sort_key *v, sort_key *tmp, size_t n, const sort_opts *o) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(c, v, tmp, h, o);
    merge_sort(c, v + h, tmp, n - h, o);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int r = v_compare(c, v[i].key, v[j].key, o->case_sensitive);
        if (o->reverse) r = -r;
        tmp[k++] = r <= 0 ? v[i++] : v[j++];
    }
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static value sorted(jctx *c, sort_key *keys, size_t n, const sort_opts *o) {
    sort_key *tmp = jalloc(c, (n + 1) * sizeof *tmp);
    c->steps += n; /* n log n comparisons, roughly */
    merge_sort(c, keys, tmp, n, o);
    value out = v_list(c, V_ARRAY, n);
    for (size_t i = 0; i < n; i++) list_push(c, out, keys[i].item);
    return out;
}

static value m_dictsort(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)e;
    vdict *kw = NULL;
    if (n && a[n - 1].k == V_KWARGS) kw = a[--n].u.dict;
    value *k;
    value cs = n > 0 ? a[0] : (kw && (k = dict_get(kw, "case_sensitive", 14))) ? *k : v_bool(0);
    if (cs.k != V_BOOL) jfail(c, "case_sensitive must be a boolean");
    value by = n > 1 ? a[1] : (kw && (k = dict_get(kw, "by", 2))) ? *k : v_str_ref("key", 3);
    if (by.k != V_STR) jfail(c, "by must be a string");
    int by_value = name_is(by.u.str.s, by.u.str.n, "value");
    if (!by_value && !name_is(by.u.str.s, by.u.str.n, "key")) jfail(c, "by must be either 'key' or 'value'");
    value rev = n > 2 ? a[2] : (kw && (k = dict_get(kw, "reverse", 7))) ? *k : v_bool(0);
    if (rev.k != V_BOOL) jfail(c, "reverse must be a boolean");
    value items = dict_items(c, self);
    size_t m = items.u.list->n;
    sort_key *keys = jalloc(c, (m + 1) * sizeof *keys);
    for (size_t i = 0; i < m; i++) {
        keys[i].item = items.u.list->items[i];
        keys[i].key = items.u.list->items[i].u.list->items[by_value ? 1 : 0];
    }
    sort_opts o = {cs.u.b, rev.u.b};
    return sorted(c, keys, m, &o);
}

value builtin_member(jctx *c, value obj, const char *name, size_t n) {
    static const struct { const char *name; builtin_fn fn; } str_methods[] = {
        {"upper", m_upper},   {"lower", m_lower},         {"strip", m_strip},           {"title", m_title},
        {"capitalize", m_capitalize}, {"rstrip", m_rstrip}, {"lstrip", m_lstrip},       {"startswith", m_startswith},
        {"endswith", m_endswith}, {"split", m_split},     {"replace", m_replace},
    };
    static const struct { const char *name; builtin_fn fn; } dict_methods[] = {
        {"get", m_get}, {"items", m_items}, {"keys", m_keys}, {"values", m_values}, {"dictsort", m_dictsort},
    };
    if (obj.k == V_STR) {
        if (name_is(name, n, "length")) return v_int((double)js_length(obj.u.str.s, obj.u.str.n));
        for (size_t i = 0; i < sizeof str_methods / sizeof str_methods[0]; i++)
            if (name_is(name, n, str_methods[i].name)) return v_builtin(c, str_methods[i].fn, obj, str_methods[i].name);
    } else if (v_is_list(obj)) {
        if (name_is(name, n, "length")) return v_int((double)obj.u.list->n);
    } else if (v_is_dict(obj)) {
        for (size_t i = 0; i < sizeof dict_methods / sizeof dict_methods[0]; i++)
            if (name_is(name, n, dict_methods[i].name)) return v_builtin(c, dict_methods[i].fn, obj, dict_methods[i].name);
    }
    return v_undef();
}

/* ---- tests -------------------------------------------------------------------------------- */

int run_test(jctx *c, const char *name, size_t n, value v, const value *arg) {
#define IS(w) name_is(name, n, w)
    if (IS("boolean")) return v.k == V_BOOL;
    if (IS("callable")) return v.k == V_FUNC;
    if (IS("odd") || IS("even")) {
        if (v.k != V_INT) jfail(c, "cannot %.*s on %s", (int)n, name, v_type_name(v));
        int odd = fmod(v.u.num, 2) != 0;
        return IS("odd") ? odd : !odd;
    }
    if (IS("false")) return v.k == V_BOOL && !v.u.b;
    if (IS("true")) return v.k == V_BOOL && v.u.b;
    if (IS("none")) return v.k == V_NULL;
    if (IS("string")) return v.k == V_STR;
    if (IS("number")) return v_is_num(v);
    if (IS("integer")) return v.k == V_INT;
    if (IS("iterable")) return v.k == V_ARRAY || v.k == V_STR;
    if (IS("mapping")) return v_is_dict(v);
    if (IS("sequence")) return v_is_list(v) || v_is_dict(v) || v.k == V_STR;
    if (IS("lower") || IS("upper")) {
        if (v.k != V_STR) return 0;
        value t = str_case(c, v, IS("upper"));
        return t.u.str.n == v.u.str.n && !memcmp(t.u.str.s, v.u.str.s, v.u.str.n);
    }
    if (IS("defined")) return v.k != V_UNDEF;
    if (IS("undefined")) return v.k == V_UNDEF;
    if (IS("equalto") || IS("eq")) {
        if (!arg) jfail(c, "the test '%.*s' needs a value to compare with", (int)n, name);
        return v_strict_eq(v, *arg);
    }
#undef IS
    jfail(c, "Unknown test: %.*s", (int)n, name);
}

/* ---- filters -------------------------------------------------------------------------------- */

static void join_raw(jctx *c, strbuf *b, value v) {
    if (v.k == V_NULL || v.k == V_UNDEF) return; /* Array.prototype.join prints nothing for them */
    js_raw_string(c, b, v);
}

static value join_list(jctx *c, value list, value sep) {
    strbuf b = {0};
    sb_put(c, &b, "", 0);
    for (size_t i = 0; i < list.u.list->n; i++) {
        if (i) sb_put(c, &b, sep.u.str.s, sep.u.str.n);
        join_raw(c, &b, list.u.list->items[i]);
    }
    return sb_value(c, &b);
}

static value indent_lines(jctx *c, value s, double width, int first, int blank) {
    strbuf b = {0};
    sb_put(c, &b, "", 0);
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, line = 0;
    for (size_t i = 0;;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - p) : n;
        int empty = end == i;
        if (line > 0) sb_putc(c, &b, '\n');
        if (!((!first && line == 0) || (!blank && empty)))
            for (double k = 0; k < width; k++) sb_putc(c, &b, ' ');
        sb_put(c, &b, p + i, end - i);
        line++;
        if (!nl) break;
        i = end + 1;
    }
    return sb_value(c, &b);
}

/* JavaScript truthiness of the raw value: every array and map is true, even empty. */
static int raw_truthy(value v) {
    if (v_is_list(v) || v_is_dict(v) || v.k == V_NAMESPACE || v.k == V_FUNC) return 1;
    return v_truthy(v);
}

static int attr_container(value v) { return v_is_dict(v) || v.k == V_NAMESPACE; }

/* getAttributeValue: a dotted path through mappings and list indices. */
static value attribute_path(jctx *c, value item, const char *path, size_t n) {
    (void)c;
    value v = item;
    size_t i = 0;
    for (;;) {
        const char *dot = memchr(path + i, '.', n - i);
        size_t end = dot ? (size_t)(dot - path) : n;
        if (attr_container(v)) {
            value *have = dict_get(v.u.dict, path + i, end - i);
            v = have ? *have : v_undef();
        } else if (v_is_list(v)) {
            value part = v_str_ref(path + i, end - i);
            double idx = js_parse_number(part, 1);
            if (isnan(idx) || idx < 0 || idx >= (double)v.u.list->n) return v_undef();
            v = v.u.list->items[(size_t)idx];
        } else {
            return v_undef();
        }
        if (!dot) break;
        i = end + 1;
    }
    return v;
}

static value kwarg(const value *kw, const char *name) {
    value *v = kw && kw->k == V_KWARGS ? dict_get(kw->u.dict, name, strlen(name)) : NULL;
    return v ? *v : v_undef();
}

static value first_of(value a, value b, value fallback) { return a.k != V_UNDEF ? a : b.k != V_UNDEF ? b : fallback; }

/* `??` of the reference: arguments that were not given (JavaScript undefined) fall
 * through, but an UndefinedValue that was given does not. */
typedef struct args_view {
    value *pos;
    size_t n;
    value kw;
} args_view;

static int given(const args_view *a, size_t i) { return i < a->n; }
static value pick(const args_view *a, size_t i, const char *kwname, value fallback) {
    if (given(a, i)) return a->pos[i];
    if (kwname) {
        value *v = dict_get(a->kw.u.dict, kwname, strlen(kwname));
        if (v) return *v;
    }
    return fallback;
}

static value filter_plain(jctx *c, value v, const char *f, size_t fn) {
#define IS(w) name_is(f, fn, w)
    if (IS("safe")) return v;
    if (IS("tojson")) {
        strbuf b = {0};
        v_to_json(c, &b, v, NULL, 0, 1);
        return sb_value(c, &b);
    }
    if (v_is_list(v)) {
        vlist *l = v.u.list;
        if (IS("list")) return v;
        if (IS("first")) return l->n ? l->items[0] : v_undef();
        if (IS("last")) return l->n ? l->items[l->n - 1] : v_undef();
        if (IS("length")) return v_int((double)l->n);
        if (IS("reverse")) {
            value out = v_list(c, V_ARRAY, l->n);
            for (size_t i = l->n; i > 0; i--) list_push(c, out, l->items[i - 1]);
            return out;
        }
        if (IS("sort")) {
            sort_key *keys = jalloc(c, (l->n + 1) * sizeof *keys);
            for (size_t i = 0; i < l->n; i++) keys[i].item = keys[i].key = l->items[i];
            sort_opts o = {0, 0};
            return sorted(c, keys, l->n, &o);
        }
        if (IS("join")) return join_list(c, v, v_str_ref("", 0));
        if (IS("string")) {
            strbuf b = {0};
            v_to_json(c, &b, v, NULL, 0, 0);
            return sb_value(c, &b);
        }
        if (IS("unique")) {
            value out = v_list(c, V_ARRAY, l->n);
            for (size_t i = 0; i < l->n; i++) {
                int seen = 0;
                for (size_t k = 0; k < out.u.list->n && !seen; k++) {
                    c->steps++;
                    seen = v_strict_eq(out.u.list->items[k], l->items[i]) ||
                           (v_is_num(l->items[i]) && v_is_num(out.u.list->items[k]) && isnan(l->items[i].u.num) &&
                            isnan(out.u.list->items[k].u.num));
                }
                if (c->steps > c->max_steps) jfail(c, "the template ran more than %llu steps (the limit)",
                                                   (unsigned long long)c->max_steps);
                if (!seen) list_push(c, out, l->items[i]);
            }
            return out;
        }
        jfail(c, "Unknown ArrayValue filter: %.*s", (int)fn, f);
    }
    if (v.k == V_STR) {
        if (IS("length")) return v_int((double)js_length(v.u.str.s, v.u.str.n));
        if (IS("upper")) return str_case(c, v, 1);
        if (IS("lower")) return str_case(c, v, 0);
        if (IS("title")) return title_case(c, v);
        if (IS("capitalize")) return capitalize(c, v);
        if (IS("trim")) return trim(c, v, 1, 1);
        if (IS("indent")) return indent_lines(c, v, 4, 0, 0);
        if (IS("join") || IS("string")) return v;
        if (IS("int")) {
            double x = js_parse_number(v, 1);
            return v_int(isnan(x) ? 0 : x);
        }
        if (IS("float")) {
            double x = js_parse_number(v, 0);
            return v_float(isnan(x) ? 0 : x);
        }
        jfail(c, "Unknown StringValue filter: %.*s", (int)fn, f);
    }
    if (v_is_num(v)) {
        if (IS("abs")) return v.k == V_INT ? v_int(fabs(v.u.num)) : v_float(fabs(v.u.num));
        if (IS("int")) return v_int(floor(v.u.num));
        if (IS("float")) return v_float(v.u.num);
        if (IS("string")) {
            strbuf b = {0};
            v_to_string(c, &b, v);
            return sb_value(c, &b);
        }
        jfail(c, "Unknown NumericValue filter: %.*s", (int)fn, f);
    }
    if (v_is_dict(v)) {
        if (IS("items")) return dict_items(c, v);
        if (IS("length")) return v_int((double)v.u.dict->n);
        value m = builtin_member(c, v, f, fn);
        if (m.k == V_FUNC) return jcall(c, m, NULL, 0, NULL);
        jfail(c, "Unknown ObjectValue filter: %.*s", (int)fn, f);
    }
    if (v.k == V_BOOL) {
        if (IS("bool")) return v;
        if (IS("int")) return v_int(v.u.b);
        if (IS("float")) return v_float(v.u.b);
        if (IS("string")) return str_of(c, v.u.b ? "true" : "false");
        jfail(c, "Unknown BooleanValue filter: %.*s", (int)fn, f);
    }
#undef IS
    jfail(c, "Cannot apply filter \"%.*s\" to type: %s", (int)fn, f, v_type_name(v));
}

static value filter_tojson(jctx *c, value v, const args_view *a) {
    value indent = first_of(kwarg(&a->kw, "indent"), v_undef(), v_null());
    if (indent.k != V_INT && indent.k != V_NULL) jfail(c, "If set, indent must be a number");
    value ascii = first_of(kwarg(&a->kw, "ensure_ascii"), v_undef(), v_bool(0));
    if (ascii.k != V_BOOL) jfail(c, "If set, ensure_ascii must be a boolean");
    value sortk = first_of(kwarg(&a->kw, "sort_keys"), v_undef(), v_bool(0));
    if (sortk.k != V_BOOL) jfail(c, "If set, sort_keys must be a boolean");
    value seps = first_of(kwarg(&a->kw, "separators"), v_undef(), v_null());
    json_opts o = {0};
    if (v_is_list(seps)) {
        if (seps.u.list->n != 2 || seps.u.list->items[0].k != V_STR || seps.u.list->items[1].k != V_STR)
            jfail(c, "separators must be a tuple of two strings");
        o.item_sep = v_str(c, seps.u.list->items[0].u.str.s, seps.u.list->items[0].u.str.n).u.str.s;
        o.key_sep = v_str(c, seps.u.list->items[1].u.str.s, seps.u.list->items[1].u.str.n).u.str.s;
    } else if (seps.k != V_NULL) {
        jfail(c, "If set, separators must be a tuple of two strings");
    }
    if (indent.k == V_INT) {
        if (indent.u.num < 0 || indent.u.num > 64) jfail(c, "tojson indent must be between 0 and 64");
        o.indent = (int)indent.u.num;
    }
    o.ensure_ascii = ascii.u.b;
    o.sort_keys = sortk.u.b;
    strbuf b = {0};
    v_to_json(c, &b, v, &o, 0, 1);
    return sb_value(c, &b);
}

static value filter_select(jctx *c, value v, const jnode *call, jenv *env, int select) {
    const char *name = select ? "selectattr" : "rejectattr";
    for (size_t i = 0; i < v.u.list->n; i++)
        if (!attr_container(v.u.list->items[i])) jfail(c, "`%s` can only be applied to array of objects", name);
    for (size_t i = 0; i < call->list.n; i++)
        if (call->list.items[i]->type != N_STR) jfail(c, "arguments of `%s` must be strings", name);
    if (call->list.n == 0) jfail(c, "`%s` needs an attribute name", name);
    value attr = jeval(c, call->list.items[0], env);
    value test = call->list.n > 1 ? jeval(c, call->list.items[1], env) : v_undef();
    value arg = call->list.n > 2 ? jeval(c, call->list.items[2], env) : v_undef();
    if (test.k == V_STR) run_test(c, test.u.str.s, test.u.str.n, v_undef(), &arg); /* unknown tests fail first */
    value out = v_list(c, V_ARRAY, v.u.list->n);
    for (size_t i = 0; i < v.u.list->n; i++) {
        value item = v.u.list->items[i];
        value *a = dict_get(item.u.dict, attr.u.str.s, attr.u.str.n);
        int r = 0;
        if (a) {
            if (test.k == V_STR) {
                if (call->list.n < 3 && (name_is(test.u.str.s, test.u.str.n, "equalto") ||
                                         name_is(test.u.str.s, test.u.str.n, "eq")))
                    jfail(c, "the test '%.*s' needs a value to compare with", (int)test.u.str.n, test.u.str.s);
                r = run_test(c, test.u.str.s, test.u.str.n, *a, &arg);
            } else {
                r = v_truthy(*a);
            }
        }
        if (select ? r : !r) list_push(c, out, item);
    }
    return out;
}

value apply_filter(jctx *c, value v, const jnode *f, jenv *env) {
    if (f->type == N_IDENT) return filter_plain(c, v, f->s, f->n);
    if (f->type != N_CALL || f->a->type != N_IDENT) jfail(c, "Unknown filter expression");
    const char *name = f->a->s;
    size_t nn = f->a->n;
#define IS(w) name_is(name, nn, w)
    if (IS("selectattr") || IS("rejectattr")) {
        if (!v_is_list(v)) jfail(c, "Cannot apply filter \"%.*s\" to type: %s", (int)nn, name, v_type_name(v));
        return filter_select(c, v, f, env, IS("selectattr"));
    }
    args_view a;
    jeval_args(c, &f->list, env, &a.pos, &a.n, &a.kw);
    if (IS("tojson")) return filter_tojson(c, v, &a);
    if (IS("join")) {
        if (v.k != V_STR && !v_is_list(v))
            jfail(c, "Cannot apply filter \"join\" to type: %s", v_type_name(v));
        value sep = pick(&a, 0, "separator", v_str_ref("", 0));
        if (sep.k != V_STR) jfail(c, "separator must be a string");
        if (v_is_list(v)) return join_list(c, v, sep);
        strbuf b = {0};
        sb_put(c, &b, "", 0);
        for (size_t i = 0; i < v.u.str.n;) {
            int32_t cp;
            size_t next = utf8_next(v.u.str.s, v.u.str.n, i, &cp);
            if (i) sb_put(c, &b, sep.u.str.s, sep.u.str.n);
            sb_put(c, &b, v.u.str.s + i, next - i);
            i = next;
        }
        return sb_value(c, &b);
    }
    if (IS("int") || IS("float")) {
        int integer = IS("int");
        value def = pick(&a, 0, "default", integer ? v_int(0) : v_float(0));
        if (v.k == V_STR) {
            double x = js_parse_number(v, integer);
            return isnan(x) ? def : integer ? v_int(x) : v_float(x);
        }
        if (v_is_num(v)) return v;
        if (v.k == V_BOOL) return integer ? v_int(v.u.b) : v_float(v.u.b);
        jfail(c, "Cannot apply filter \"%.*s\" to type: %s", (int)nn, name, v_type_name(v));
    }
    if (IS("default")) {
        value def = given(&a, 0) ? a.pos[0] : v_str_ref("", 0);
        value flag = pick(&a, 1, "boolean", v_bool(0));
        if (flag.k != V_BOOL) jfail(c, "`default` filter flag must be a boolean");
        if (v.k == V_UNDEF || (flag.u.b && !v_truthy(v))) return def;
        return v;
    }
    if (v_is_list(v)) {
        if (IS("sort")) {
            value rev = pick(&a, 0, "reverse", v_bool(0));
            if (rev.k != V_BOOL) jfail(c, "reverse must be a boolean");
            value cs = pick(&a, 1, "case_sensitive", v_bool(0));
            if (cs.k != V_BOOL) jfail(c, "case_sensitive must be a boolean");
            value attr = pick(&a, 2, "attribute", v_null());
            if (attr.k != V_STR && attr.k != V_INT && attr.k != V_NULL)
                jfail(c, "attribute must be a string, integer, or null");
            strbuf path = {0};
            if (attr.k != V_NULL) js_raw_string(c, &path, attr);
            size_t n = v.u.list->n;
            sort_key *keys = jalloc(c, (n + 1) * sizeof *keys);
            for (size_t i = 0; i < n; i++) {
                keys[i].item = v.u.list->items[i];
                keys[i].key = attr.k == V_NULL ? keys[i].item : attribute_path(c, keys[i].item, path.s, path.n);
            }
            sort_opts o = {cs.u.b, rev.u.b};
            return sorted(c, keys, n, &o);
        }
        if (IS("map")) {
            value *attr = dict_get(a.kw.u.dict, "attribute", 9);
            if (!attr) jfail(c, "`map` expressions without `attribute` set are not currently supported.");
            if (attr->k != V_STR) jfail(c, "attribute must be a string");
            value *def = dict_get(a.kw.u.dict, "default", 7);
            value out = v_list(c, V_ARRAY, v.u.list->n);
            for (size_t i = 0; i < v.u.list->n; i++) {
                value item = v.u.list->items[i];
                if (!attr_container(item)) jfail(c, "items in map must be an object");
                value r = attribute_path(c, item, attr->u.str.s, attr->u.str.n);
                list_push(c, out, r.k == V_UNDEF && def ? *def : r);
            }
            return out;
        }
        jfail(c, "Unknown ArrayValue filter: %.*s", (int)nn, name);
    }
    if (v.k == V_STR) {
        if (IS("indent")) {
            value width = pick(&a, 0, "width", v_int(4));
            if (width.k != V_INT) jfail(c, "width must be a number");
            if (width.u.num > 256) jfail(c, "indent width above 256");
            value first = pick(&a, 1, "first", v_bool(0)), blank = pick(&a, 2, "blank", v_bool(0));
            return indent_lines(c, v, width.u.num, raw_truthy(first), raw_truthy(blank));
        }
        if (IS("replace")) {
            value *args = jalloc(c, (a.n + 1) * sizeof *args);
            if (a.n) memcpy(args, a.pos, a.n * sizeof *args);
            args[a.n] = a.kw;
            return m_replace(c, v, args, a.n + 1, env);
        }
        jfail(c, "Unknown StringValue filter: %.*s", (int)nn, name);
    }
    if (v_is_dict(v)) {
        value m = builtin_member(c, v, name, nn);
        if (m.k == V_FUNC) {
            if (a.kw.u.dict->n) a.pos[a.n++] = a.kw;
            return jcall(c, m, a.pos, a.n, env);
        }
        jfail(c, "Unknown ObjectValue filter: %.*s", (int)nn, name);
    }
#undef IS
    jfail(c, "Cannot apply filter \"%.*s\" to type: %s", (int)nn, name, v_type_name(v));
}

/* ---- globals ---------------------------------------------------------------------------------- */

static value g_namespace(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)self; (void)e;
    vdict *kw = NULL;
    if (n && a[n - 1].k == V_KWARGS) kw = a[--n].u.dict;
    if (n > 1) jfail(c, "namespace expected at most 1 argument, got %zu", n);
    value ns = v_dict(c, V_NAMESPACE);
    if (n == 1) {
        value src = a[0];
        if (v_is_dict(src)) {
            for (size_t i = 0; i < src.u.dict->n; i++)
                dict_set(c, ns.u.dict, src.u.dict->keys[i], src.u.dict->klen[i], src.u.dict->vals[i]);
        } else if (v_is_list(src)) {
            for (size_t i = 0; i < src.u.list->n; i++) {
                value pair = src.u.list->items[i];
                value key, val;
                if (v_is_list(pair) && pair.u.list->n == 2) {
                    key = pair.u.list->items[0];
                    val = pair.u.list->items[1];
                } else if (pair.k == V_STR && js_length(pair.u.str.s, pair.u.str.n) == 2 &&
                           pair.u.str.n == 2) {
                    key = v_str(c, pair.u.str.s, 1);
                    val = v_str(c, pair.u.str.s + 1, 1);
                } else {
                    jfail(c, "namespace expected an object or an iterable of [key, value] pairs");
                }
                if (key.k != V_STR) jfail(c, "namespace keys must be strings");
                dict_set(c, ns.u.dict, key.u.str.s, key.u.str.n, val);
            }
        } else {
            jfail(c, "'%s' object is not iterable", v_type_name(src));
        }
    }
    if (kw)
        for (size_t i = 0; i < kw->n; i++) dict_set(c, ns.u.dict, kw->keys[i], kw->klen[i], kw->vals[i]);
    return ns;
}

static value g_raise(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)self; (void)e;
    strbuf b = {0};
    if (n) join_raw(c, &b, a[0]);
    jfail(c, "raise_exception: %.*s", (int)(b.n > 600 ? 600 : b.n), b.s ? b.s : "");
}

static double raw_number(value v) {
    if (v_is_num(v)) return v.u.num;
    if (v.k == V_BOOL) return v.u.b;
    return NAN;
}

static value g_range(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)self; (void)e;
    if (n && a[n - 1].k == V_KWARGS) n--;
    double start = 0, stop, st = 1;
    if (n == 0) jfail(c, "range expected at least 1 argument");
    if (n == 1) stop = raw_number(a[0]);
    else {
        start = raw_number(a[0]);
        stop = raw_number(a[1]);
        if (n > 2) st = raw_number(a[2]);
    }
    if (st == 0) jfail(c, "range() step must not be zero");
    value out = v_list(c, V_ARRAY, 0);
    for (double i = start; st > 0 ? i < stop : i > stop; i += st) {
        if (++c->steps > c->max_steps)
            jfail(c, "the template ran more than %llu steps (the limit)", (unsigned long long)c->max_steps);
        list_push(c, out, i == floor(i) ? v_int(i) : v_float(i));
    }
    return out;
}

static value g_strftime_now(jctx *c, value self, value *a, size_t n, jenv *e) {
    (void)self; (void)e;
    static const char *months[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};
    if (!n || a[0].k != V_STR) jfail(c, "strftime_now expects a format string");
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strbuf b = {0};
    sb_put(c, &b, "", 0);
    const char *f = a[0].u.str.s;
    size_t fn = a[0].u.str.n;
    char num[16];
    for (size_t i = 0; i < fn; i++) {
        if (f[i] != '%' || i + 1 >= fn || !strchr("YmdbBHM%", f[i + 1])) {
            sb_putc(c, &b, f[i]);
            continue;
        }
        char k = f[++i];
        switch (k) {
        case 'Y': snprintf(num, sizeof num, "%d", tm.tm_year + 1900); sb_puts(c, &b, num); break;
        case 'm': snprintf(num, sizeof num, "%02d", tm.tm_mon + 1); sb_puts(c, &b, num); break;
        case 'd': snprintf(num, sizeof num, "%02d", tm.tm_mday); sb_puts(c, &b, num); break;
        case 'b': sb_put(c, &b, months[tm.tm_mon], 3); break;
        case 'B': sb_puts(c, &b, months[tm.tm_mon]); break;
        case 'H': snprintf(num, sizeof num, "%02d", tm.tm_hour); sb_puts(c, &b, num); break;
        case 'M': snprintf(num, sizeof num, "%02d", tm.tm_min); sb_puts(c, &b, num); break;
        default: sb_putc(c, &b, '%'); break;
        }
    }
    return sb_value(c, &b);
}

void install_globals(jctx *c, jenv *g) {
    env_set(c, g, "false", 5, v_bool(0));
    env_set(c, g, "true", 4, v_bool(1));
    env_set(c, g, "none", 4, v_null());
    env_set(c, g, "False", 5, v_bool(0));
    env_set(c, g, "True", 4, v_bool(1));
    env_set(c, g, "None", 4, v_null());
    env_set(c, g, "namespace", 9, v_builtin(c, g_namespace, v_undef(), "namespace"));
    env_set(c, g, "raise_exception", 15, v_builtin(c, g_raise, v_undef(), "raise_exception"));
    env_set(c, g, "range", 5, v_builtin(c, g_range, v_undef(), "range"));
    env_set(c, g, "strftime_now", 12, v_builtin(c, g_strftime_now, v_undef(), "strftime_now"));
}
