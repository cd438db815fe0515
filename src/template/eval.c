/* eval.c: the tree-walking evaluator of chat templates: scopes, statements
 * (if, for, set, macro, call, filter blocks) and expressions, with the
 * semantics of @huggingface/jinja. Every step and every level of nesting is
 * counted against the render's limits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "template/interp.h"

/* ---- scopes -------------------------------------------------------------------- */

jenv *env_new(jctx *c, jenv *parent) {
    jenv *e = jalloc(c, sizeof *e);
    memset(e, 0, sizeof *e);
    e->parent = parent;
    return e;
}

void env_set(jctx *c, jenv *e, const char *name, size_t n, value v) {
    for (size_t i = 0; i < e->n; i++)
        if (e->nlen[i] == n && !memcmp(e->names[i], name, n)) {
            e->vals[i] = v;
            return;
        }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        const char **names = jalloc(c, cap * sizeof *names);
        size_t *nlen = jalloc(c, cap * sizeof *nlen);
        value *vals = jalloc(c, cap * sizeof *vals);
        if (e->n) {
            memcpy(names, e->names, e->n * sizeof *names);
            memcpy(nlen, e->nlen, e->n * sizeof *nlen);
            memcpy(vals, e->vals, e->n * sizeof *vals);
        }
        e->names = names;
        e->nlen = nlen;
        e->vals = vals;
        e->cap = cap;
    }
    e->names[e->n] = name;
    e->nlen[e->n] = n;
    e->vals[e->n] = v;
    e->n++;
}

value env_lookup(const jenv *e, const char *name, size_t n) {
    for (; e; e = e->parent)
        for (size_t i = 0; i < e->n; i++)
            if (e->nlen[i] == n && !memcmp(e->names[i], name, n)) return e->vals[i];
    return v_undef();
}

static void step(jctx *c) {
    if (++c->steps > c->max_steps)
        jfail(c, "the template ran more than %llu steps (the limit); an endless loop?",
              (unsigned long long)c->max_steps);
}

static void enter(jctx *c) {
    if (++c->depth > c->max_depth)
        jfail(c, "nesting deeper than %u levels (the limit); unbounded recursion?", c->max_depth);
}

/* ---- calls ------------------------------------------------------------------------ */

void jeval_args(jctx *c, const jlist *args, jenv *env, value **out, size_t *n, value *kwargs) {
    value list = v_list(c, V_ARRAY, args->n + 1);
    for (size_t i = 0; i < args->n; i++) {
        const jnode *a = args->items[i];
        if (a->type == N_SPREAD) {
            value v = jeval(c, a->a, env);
            if (!v_is_list(v)) jfail(c, "Cannot unpack non-iterable type: %s", v_type_name(v));
            for (size_t k = 0; k < v.u.list->n; k++) list_push(c, list, v.u.list->items[k]);
        } else if (a->type != N_KWARG && a->type != N_KWSPREAD) {
            list_push(c, list, jeval(c, a, env));
        }
    }
    value kw = v_dict(c, V_KWARGS);
    for (size_t i = 0; i < args->n; i++) {
        const jnode *a = args->items[i];
        if (a->type == N_KWARG) {
            if (dict_get(kw.u.dict, a->s, a->n))
                jfail(c, "Got multiple values for keyword argument '%.*s'", (int)a->n, a->s);
            dict_set(c, kw.u.dict, a->s, a->n, jeval(c, a->a, env));
        } else if (a->type == N_KWSPREAD) {
            value v = jeval(c, a->a, env);
            if (!v_is_dict(v)) jfail(c, "Argument after ** must be a mapping, not %s", v_type_name(v));
            for (size_t k = 0; k < v.u.dict->n; k++) {
                if (dict_get(kw.u.dict, v.u.dict->keys[k], v.u.dict->klen[k]))
                    jfail(c, "Got multiple values for keyword argument '%.*s'", (int)v.u.dict->klen[k],
                          v.u.dict->keys[k]);
                dict_set(c, kw.u.dict, v.u.dict->keys[k], v.u.dict->klen[k], v.u.dict->vals[k]);
            }
        }
    }
    list_push(c, list, v_undef()); /* leaves room for the caller to append kwargs */
    list.u.list->n--;
    *out = list.u.list->items;
    *n = list.u.list->n;
    *kwargs = kw;
}

static void bind_macro_args(jctx *c, const char *display, const jlist *params, int specials, value *args,
                            size_t nargs, jenv *scope) {
    vdict *kw = NULL;
    if (nargs && args[nargs - 1].k == V_KWARGS) kw = args[--nargs].u.dict;
    uint8_t *used = kw && kw->n ? jalloc(c, kw->n) : NULL;
    if (used) memset(used, 0, kw->n);
    const jnode **pending = jalloc(c, (params->n + 1) * sizeof *pending);
    size_t n_pending = 0;
    for (size_t i = 0; i < params->n; i++) {
        const jnode *p = params->items[i];
        int have = i < nargs;
        value v = have ? args[i] : v_undef();
        if (!have && kw) {
            for (size_t k = 0; k < kw->n; k++)
                if (!used[k] && kw->klen[k] == p->n && !memcmp(kw->keys[k], p->s, p->n)) {
                    v = kw->vals[k];
                    used[k] = 1;
                    have = 1;
                    break;
                }
        }
        if (!have && p->type == N_KWARG) pending[n_pending++] = p;
        env_set(c, scope, p->s, p->n, v);
    }
    size_t left = 0;
    if (kw)
        for (size_t k = 0; k < kw->n; k++) left += !used[k];
    if (specials & 1) {
        value rest = v_dict(c, V_OBJECT);
        if (kw)
            for (size_t k = 0; k < kw->n; k++)
                if (!used[k]) dict_set(c, rest.u.dict, kw->keys[k], kw->klen[k], kw->vals[k]);
        env_set(c, scope, "kwargs", 6, rest);
    } else if (left) {
        for (size_t k = 0; k < kw->n; k++)
            if (!used[k]) jfail(c, "macro %s takes no keyword argument '%.*s'", display, (int)kw->klen[k], kw->keys[k]);
    }
    if (specials & 2) {
        value rest = v_list(c, V_ARRAY, 0);
        for (size_t i = params->n; i < nargs; i++) list_push(c, rest, args[i]);
        env_set(c, scope, "varargs", 7, rest);
    } else if (nargs > params->n) {
        jfail(c, "macro %s takes not more than %zu argument(s)", display, params->n);
    }
    for (size_t i = 0; i < n_pending; i++) env_set(c, scope, pending[i]->s, pending[i]->n, jeval(c, pending[i]->a, scope));
}

value jcall(jctx *c, value fn, value *args, size_t nargs, jenv *env) {
    if (fn.k != V_FUNC) jfail(c, "Cannot call something that is not a function: got %s", v_type_name(fn));
    const vfunc *f = fn.u.fn;
    enter(c);
    value r;
    if (f->kind == F_BUILTIN) {
        r = f->fn(c, f->self, args, nargs, env);
    } else {
        const jnode *m = f->node;
        jenv *scope = env_new(c, f->kind == F_MACRO ? env : f->def_env);
        char display[80];
        if (f->kind == F_MACRO) snprintf(display, sizeof display, "'%.*s'", (int)(m->n > 60 ? 60 : m->n), m->s);
        else snprintf(display, sizeof display, "None");
        bind_macro_args(c, display, &m->alt, m->flag, args, nargs, scope);
        strbuf out = {0};
        jexec_block(c, &m->list, scope, &out);
        r = sb_value(c, &out);
    }
    c->depth--;
    return r;
}

/* ---- expressions ----------------------------------------------------------------- */

static int numlike(value v) { return v_is_num(v) || v.k == V_BOOL; }
static double numval(value v) { return v.k == V_BOOL ? v.u.b : v.u.num; }

static const char *op_name(jop op) {
    static const char *names[] = {"", "or", "and", "not", "in", "not in", "==", "!=", "<", ">", "<=", ">=",
                                  "+", "-", "~", "*", "/", "//", "%", "**"};
    return names[op];
}

static value concat(jctx *c, value l, value r) {
    strbuf b = {0};
    js_raw_string(c, &b, l);
    js_raw_string(c, &b, r);
    return sb_value(c, &b);
}

static value eval_binary(jctx *c, const jnode *x, jenv *env) {
    value l = jeval(c, x->a, env);
    if (x->op == OP_AND) return v_truthy(l) ? jeval(c, x->b, env) : l;
    if (x->op == OP_OR) return v_truthy(l) ? l : jeval(c, x->b, env);
    value r = jeval(c, x->b, env);
    jop op = x->op;
    if (op == OP_EQ) return v_bool(v_loose_eq(c, l, r));
    if (op == OP_NE) return v_bool(!v_loose_eq(c, l, r));
    if (l.k == V_UNDEF || r.k == V_UNDEF) {
        if (r.k == V_UNDEF && (op == OP_IN || op == OP_NOT_IN)) return v_bool(op == OP_NOT_IN);
        jfail(c, "Cannot perform operation %s on undefined values", op_name(op));
    }
    if (l.k == V_NULL || r.k == V_NULL) jfail(c, "Cannot perform operation on null values");
    if (op == OP_CONCAT) return concat(c, l, r);
    if (op == OP_POW && numlike(l) && numlike(r)) {
        double a = numval(l), b = numval(r);
        if (a == 0 && b < 0) jfail(c, "0.0 cannot be raised to a negative power");
        double p = pow(a, b);
        if (!isfinite(p)) jfail(c, "Exponentiation result is not a finite real number");
        return (l.k == V_FLOAT || r.k == V_FLOAT || b < 0) ? v_float(p) : v_int(p);
    } else if (v_is_num(l) && v_is_num(r)) {
        double a = l.u.num, b = r.u.num;
        int fl = l.k == V_FLOAT || r.k == V_FLOAT;
        switch (op) {
        case OP_ADD: return fl ? v_float(a + b) : v_int(a + b);
        case OP_SUB: return fl ? v_float(a - b) : v_int(a - b);
        case OP_MUL: return fl ? v_float(a * b) : v_int(a * b);
        case OP_DIV: return v_float(a / b);
        case OP_FLOORDIV: return fl ? v_float(floor(a / b)) : v_int(floor(a / b));
        case OP_MOD: return fl ? v_float(fmod(a, b)) : v_int(fmod(a, b));
        case OP_LT: return v_bool(a < b);
        case OP_GT: return v_bool(a > b);
        case OP_GE: return v_bool(a >= b);
        case OP_LE: return v_bool(a <= b);
        default: break;
        }
    } else if (v_is_list(l) && v_is_list(r)) {
        if (op == OP_ADD) {
            value out = v_list(c, V_ARRAY, l.u.list->n + r.u.list->n);
            for (size_t i = 0; i < l.u.list->n; i++) list_push(c, out, l.u.list->items[i]);
            for (size_t i = 0; i < r.u.list->n; i++) list_push(c, out, r.u.list->items[i]);
            return out;
        }
    } else if (v_is_list(r)) {
        if (op == OP_IN || op == OP_NOT_IN) {
            int member = 0;
            for (size_t i = 0; i < r.u.list->n && !member; i++) {
                step(c);
                member = v_strict_eq(r.u.list->items[i], l);
            }
            return v_bool(op == OP_IN ? member : !member);
        }
    }
    if ((l.k == V_STR || r.k == V_STR) && op == OP_ADD) return concat(c, l, r);
    if (l.k == V_STR && r.k == V_STR && (op == OP_IN || op == OP_NOT_IN)) {
        int found = l.u.str.n == 0;
        for (size_t i = 0; !found && i + l.u.str.n <= r.u.str.n; i++)
            found = !memcmp(r.u.str.s + i, l.u.str.s, l.u.str.n);
        return v_bool(op == OP_IN ? found : !found);
    }
    if (l.k == V_STR && v_is_dict(r) && (op == OP_IN || op == OP_NOT_IN)) {
        int has = dict_get(r.u.dict, l.u.str.s, l.u.str.n) != NULL;
        return v_bool(op == OP_IN ? has : !has);
    }
    jfail(c, "Unknown operator \"%s\" between %s and %s", op_name(op), v_type_name(l), v_type_name(r));
}

static value eval_unary(jctx *c, const jnode *x, jenv *env) {
    value v = jeval(c, x->a, env);
    if (x->op == OP_NOT) return v_bool(!v_truthy(v));
    if (!numlike(v)) jfail(c, "Unknown operator \"%s\" for %s", x->op == OP_SUB ? "-" : "+", v_type_name(v));
    double r = (x->op == OP_SUB ? -1 : 1) * numval(v);
    return v.k == V_FLOAT ? v_float(r) : v_int(r);
}

/* utils.slice of the reference, over n items. */
static size_t slice_indices(jctx *c, size_t n, value vs, value ve, value vst, int64_t **out) {
    double len = (double)n, st = vst.k == V_UNDEF ? 1 : vst.u.num;
    double dir = st > 0 ? 1 : st < 0 ? -1 : 0;
    double start, stop;
    if (dir >= 0) {
        start = vs.k == V_UNDEF ? 0 : vs.u.num < 0 ? fmax(len + vs.u.num, 0) : fmin(vs.u.num, len);
        stop = ve.k == V_UNDEF ? len : ve.u.num < 0 ? fmax(len + ve.u.num, 0) : fmin(ve.u.num, len);
    } else {
        start = vs.k == V_UNDEF ? len - 1 : vs.u.num < 0 ? fmax(len + vs.u.num, -1) : fmin(vs.u.num, len - 1);
        stop = ve.k == V_UNDEF ? -1 : ve.u.num < -1 ? fmax(len + ve.u.num, -1) : fmin(ve.u.num, len - 1);
    }
    size_t cap = n + 1, k = 0;
    *out = jalloc(c, cap * sizeof **out);
    if (dir == 0) return 0;
    for (double i = start; dir * i < dir * stop && k < cap; i += st) {
        step(c);
        (*out)[k++] = (int64_t)i;
    }
    return k;
}

static value eval_slice(jctx *c, value obj, const jnode *s, jenv *env) {
    if (!v_is_list(obj) && obj.k != V_STR) jfail(c, "Slice object must be an array or string");
    value a = s->a ? jeval(c, s->a, env) : v_undef(), b = s->b ? jeval(c, s->b, env) : v_undef(),
          st = s->c ? jeval(c, s->c, env) : v_undef();
    if ((a.k != V_INT && a.k != V_UNDEF) || (b.k != V_INT && b.k != V_UNDEF) || (st.k != V_INT && st.k != V_UNDEF))
        jfail(c, "Slice indices must be integers or undefined");
    int64_t *idx;
    if (v_is_list(obj)) {
        size_t k = slice_indices(c, obj.u.list->n, a, b, st, &idx);
        value out = v_list(c, V_ARRAY, k);
        for (size_t i = 0; i < k; i++)
            list_push(c, out, idx[i] >= 0 && (size_t)idx[i] < obj.u.list->n ? obj.u.list->items[idx[i]] : v_undef());
        return out;
    }
    /* strings slice by code point (Array.from) */
    const char *s8 = obj.u.str.s;
    size_t n8 = obj.u.str.n, ncp = 0;
    for (size_t i = 0; i < n8; ncp++) {
        int32_t cp;
        i = utf8_next(s8, n8, i, &cp);
    }
    size_t *at = jalloc(c, (ncp + 1) * sizeof *at);
    for (size_t i = 0, k = 0; i < n8; k++) {
        int32_t cp;
        at[k] = i;
        i = utf8_next(s8, n8, i, &cp);
    }
    at[ncp] = n8;
    size_t k = slice_indices(c, ncp, a, b, st, &idx);
    strbuf out = {0};
    sb_put(c, &out, "", 0);
    for (size_t i = 0; i < k; i++)
        if (idx[i] >= 0 && (size_t)idx[i] < ncp) sb_put(c, &out, s8 + at[idx[i]], at[idx[i] + 1] - at[idx[i]]);
    return sb_value(c, &out);
}

/* String.prototype.at over UTF-16 code units; half of a surrogate pair reads as U+FFFD. */
static value string_at(jctx *c, value s, double index) {
    double len = (double)js_length(s.u.str.s, s.u.str.n);
    double i = index < 0 ? len + index : index;
    if (i < 0 || i >= len || i != floor(i)) return v_undef();
    size_t unit = 0;
    for (size_t p = 0; p < s.u.str.n;) {
        int32_t cp;
        size_t next = utf8_next(s.u.str.s, s.u.str.n, p, &cp);
        size_t w = cp > 0xFFFF ? 2 : 1;
        if ((double)unit <= i && i < (double)(unit + w)) {
            if (w == 2) return v_str_ref("\xEF\xBF\xBD", 3);
            return v_str(c, s.u.str.s + p, next - p);
        }
        unit += w;
        p = next;
    }
    return v_undef();
}

static value eval_member(jctx *c, const jnode *x, jenv *env) {
    value obj = jeval(c, x->a, env);
    value prop;
    if (x->flag) {
        if (x->b->type == N_SLICE) return eval_slice(c, obj, x->b, env);
        prop = jeval(c, x->b, env);
    } else if (x->b->type == N_INT) {
        prop = v_int(x->b->num);
    } else {
        prop = v_str_ref(x->b->s, x->b->n);
    }
    if (v_is_dict(obj) || obj.k == V_NAMESPACE) {
        if (prop.k != V_STR) jfail(c, "Cannot access property with non-string: got %s", v_type_name(prop));
        value *have = dict_get(obj.u.dict, prop.u.str.s, prop.u.str.n);
        if (have) return *have;
        return obj.k == V_NAMESPACE ? v_undef() : builtin_member(c, obj, prop.u.str.s, prop.u.str.n);
    }
    if (v_is_list(obj) || obj.k == V_STR) {
        if (prop.k == V_INT) {
            if (obj.k == V_STR) return string_at(c, obj, prop.u.num);
            double i = prop.u.num < 0 ? (double)obj.u.list->n + prop.u.num : prop.u.num;
            if (i < 0 || i >= (double)obj.u.list->n || i != floor(i)) return v_undef();
            return obj.u.list->items[(size_t)i];
        }
        if (prop.k == V_STR) return builtin_member(c, obj, prop.u.str.s, prop.u.str.n);
        jfail(c, "Cannot access property with non-string/non-number: got %s", v_type_name(prop));
    }
    if (prop.k != V_STR) jfail(c, "Cannot access property with non-string: got %s", v_type_name(prop));
    return v_undef();
}

value jeval(jctx *c, const jnode *x, jenv *env) {
    step(c);
    enter(c);
    value r;
    switch (x->type) {
    case N_STR: case N_TEXT: r = v_str_ref(x->s, x->n); break;
    case N_INT: r = v_int(x->num); break;
    case N_FLOAT: r = v_float(x->num); break;
    case N_ARRAY: case N_TUPLE:
        r = v_list(c, x->type == N_ARRAY ? V_ARRAY : V_TUPLE, x->list.n);
        for (size_t i = 0; i < x->list.n; i++) list_push(c, r, jeval(c, x->list.items[i], env));
        break;
    case N_OBJECT:
        r = v_dict(c, V_OBJECT);
        for (size_t i = 0; i < x->list.n; i++) {
            value k = jeval(c, x->list.items[i], env);
            if (k.k != V_STR) jfail(c, "Object keys must be strings: got %s", v_type_name(k));
            dict_set(c, r.u.dict, k.u.str.s, k.u.str.n, jeval(c, x->alt.items[i], env));
        }
        break;
    case N_IDENT: r = env_lookup(env, x->s, x->n); break;
    case N_CALL: {
        value *args, kw;
        size_t n;
        jeval_args(c, &x->list, env, &args, &n, &kw);
        if (kw.u.dict->n) args[n++] = kw; /* room was reserved */
        r = jcall(c, jeval(c, x->a, env), args, n, env);
        break;
    }
    case N_MEMBER: r = eval_member(c, x, env); break;
    case N_UNARY: r = eval_unary(c, x, env); break;
    case N_BINARY: r = eval_binary(c, x, env); break;
    case N_FILTER: r = apply_filter(c, jeval(c, x->a, env), x->b, env); break;
    case N_TEST: {
        value v = jeval(c, x->a, env);
        int t = run_test(c, x->s, x->n, v, NULL);
        r = v_bool(x->flag ? !t : t);
        break;
    }
    case N_SELECT: r = v_truthy(jeval(c, x->b, env)) ? jeval(c, x->a, env) : v_undef(); break;
    case N_TERNARY: r = v_truthy(jeval(c, x->a, env)) ? jeval(c, x->b, env) : jeval(c, x->c, env); break;
    default: jfail(c, "unexpected node in an expression");
    }
    c->depth--;
    return r;
}

/* ---- statements --------------------------------------------------------------------- */

static void exec_set(jctx *c, const jnode *x, jenv *env) {
    value rhs;
    if (x->b) {
        rhs = jeval(c, x->b, env);
    } else {
        strbuf b = {0};
        jexec_block(c, &x->list, env, &b);
        rhs = sb_value(c, &b);
    }
    const jnode *t = x->a;
    if (t->type == N_IDENT) {
        env_set(c, env, t->s, t->n, rhs);
    } else if (t->type == N_TUPLE) {
        if (!v_is_list(rhs)) jfail(c, "Cannot unpack non-iterable type in set: %s", v_type_name(rhs));
        if (rhs.u.list->n != t->list.n)
            jfail(c, "Too %s items to unpack in set", t->list.n > rhs.u.list->n ? "few" : "many");
        for (size_t i = 0; i < t->list.n; i++) {
            const jnode *e = t->list.items[i];
            if (e->type != N_IDENT) jfail(c, "Cannot unpack to non-identifier in set");
            env_set(c, env, e->s, e->n, rhs.u.list->items[i]);
        }
    } else if (t->type == N_MEMBER) {
        value obj = jeval(c, t->a, env);
        if (obj.k != V_NAMESPACE) jfail(c, "cannot assign attribute on non-namespace object");
        if (t->b->type != N_IDENT) jfail(c, "Cannot assign to member with non-identifier property");
        dict_set(c, obj.u.dict, t->b->s, t->b->n, rhs);
    } else {
        jfail(c, "Invalid left-hand side of an assignment");
    }
}

static void bind_loopvar(jctx *c, const jnode *var, value item, jenv *scope) {
    if (var->type == N_IDENT) {
        env_set(c, scope, var->s, var->n, item);
        return;
    }
    if (item.k != V_ARRAY) jfail(c, "Cannot unpack non-iterable type: %s", v_type_name(item));
    if (item.u.list->n != var->list.n)
        jfail(c, "Too %s items to unpack", var->list.n > item.u.list->n ? "few" : "many");
    for (size_t j = 0; j < var->list.n; j++) {
        const jnode *e = var->list.items[j];
        if (e->type != N_IDENT) jfail(c, "Cannot unpack non-identifier type");
        env_set(c, scope, e->s, e->n, item.u.list->items[j]);
    }
}

static void exec_for(jctx *c, const jnode *x, jenv *env, strbuf *out) {
    jenv *scope = env_new(c, env);
    const jnode *test = NULL;
    value it;
    if (x->b->type == N_SELECT) {
        it = jeval(c, x->b->a, scope);
        test = x->b->b;
    } else {
        it = jeval(c, x->b, scope);
    }
    if (!v_is_list(it) && !v_is_dict(it))
        jfail(c, "Expected iterable or object type in for loop: got %s", v_type_name(it));
    if (v_is_dict(it)) {
        value keys = v_list(c, V_ARRAY, it.u.dict->n);
        for (size_t i = 0; i < it.u.dict->n; i++)
            list_push(c, keys, v_str_ref(it.u.dict->keys[i], it.u.dict->klen[i]));
        it = keys;
    }
    value items = v_list(c, V_ARRAY, it.u.list->n);
    for (size_t i = 0; i < it.u.list->n; i++) {
        value cur = it.u.list->items[i];
        step(c);
        if (x->a->type == N_TUPLE) {
            if (cur.k != V_ARRAY) jfail(c, "Cannot unpack non-iterable type: %s", v_type_name(cur));
            if (cur.u.list->n != x->a->list.n)
                jfail(c, "Too %s items to unpack", x->a->list.n > cur.u.list->n ? "few" : "many");
        }
        if (test) {
            jenv *ls = env_new(c, scope);
            bind_loopvar(c, x->a, cur, ls);
            if (!v_truthy(jeval(c, test, ls))) continue;
        }
        list_push(c, items, cur);
    }
    size_t n = items.u.list->n;
    int none = 1;
    for (size_t i = 0; i < n; i++) {
        step(c);
        value loop = v_dict(c, V_OBJECT);
        vdict *d = loop.u.dict;
        dict_set(c, d, "index", 5, v_int((double)i + 1));
        dict_set(c, d, "index0", 6, v_int((double)i));
        dict_set(c, d, "revindex", 8, v_int((double)(n - i)));
        dict_set(c, d, "revindex0", 9, v_int((double)(n - i - 1)));
        dict_set(c, d, "first", 5, v_bool(i == 0));
        dict_set(c, d, "last", 4, v_bool(i == n - 1));
        dict_set(c, d, "length", 6, v_int((double)n));
        dict_set(c, d, "previtem", 8, i > 0 ? items.u.list->items[i - 1] : v_undef());
        dict_set(c, d, "nextitem", 8, i + 1 < n ? items.u.list->items[i + 1] : v_undef());
        env_set(c, scope, "loop", 4, loop);
        bind_loopvar(c, x->a, items.u.list->items[i], scope);
        size_t mark = out->n;
        jexec_block(c, &x->list, scope, out);
        if (c->ctl) {
            /* the reference discards the output of an iteration left by break/continue */
            out->n = mark;
            if (out->s) out->s[mark] = 0;
            int ctl = c->ctl;
            c->ctl = CTL_NONE;
            if (ctl == CTL_CONTINUE) continue;
            break;
        }
        none = 0;
    }
    if (none) jexec_block(c, &x->alt, scope, out);
}

static void exec_callblock(jctx *c, const jnode *x, jenv *env, strbuf *out) {
    vfunc *caller = jalloc(c, sizeof *caller);
    memset(caller, 0, sizeof *caller);
    caller->kind = F_CALLER;
    caller->node = x;
    caller->def_env = env;
    value cv = {.k = V_FUNC};
    cv.u.fn = caller;
    value *args, kw;
    size_t n;
    jeval_args(c, &x->a->list, env, &args, &n, &kw);
    args[n++] = kw; /* the reference always passes the keyword arguments here */
    value fn = jeval(c, x->a->a, env);
    if (fn.k != V_FUNC) jfail(c, "Cannot call something that is not a function: got %s", v_type_name(fn));
    jenv *inner = env_new(c, env);
    env_set(c, inner, "caller", 6, cv);
    value r = jcall(c, fn, args, n, inner);
    if (r.k != V_NULL && r.k != V_UNDEF) v_to_string(c, out, r);
}

/* Runs one statement, appending what it renders. */
static void exec_stmt(jctx *c, const jnode *x, jenv *env, strbuf *out) {
    switch (x->type) {
    case N_TEXT: sb_put(c, out, x->s, x->n); return;
    case N_COMMENT: return;
    case N_IF:
        jexec_block(c, v_truthy(jeval(c, x->a, env)) ? &x->list : &x->alt, env, out);
        return;
    case N_FOR: exec_for(c, x, env, out); return;
    case N_SET: exec_set(c, x, env); return;
    case N_MACRO: {
        value fn = {.k = V_FUNC};
        fn.u.fn = jalloc(c, sizeof(vfunc));
        memset(fn.u.fn, 0, sizeof(vfunc));
        fn.u.fn->kind = F_MACRO;
        fn.u.fn->node = x;
        env_set(c, env, x->s, x->n, fn);
        return;
    }
    case N_CALLBLOCK: exec_callblock(c, x, env, out); return;
    case N_FILTERBLOCK: {
        strbuf body = {0};
        jexec_block(c, &x->list, env, &body);
        value r = apply_filter(c, sb_value(c, &body), x->a, env);
        if (r.k != V_NULL && r.k != V_UNDEF) v_to_string(c, out, r);
        return;
    }
    case N_BREAK: c->ctl = CTL_BREAK; return;
    case N_CONTINUE: c->ctl = CTL_CONTINUE; return;
    default: {
        value r = jeval(c, x, env);
        if (r.k != V_NULL && r.k != V_UNDEF) v_to_string(c, out, r);
        return;
    }
    }
}

void jexec_block(jctx *c, const jlist *body, jenv *env, strbuf *out) {
    enter(c);
    for (size_t i = 0; i < body->n && !c->ctl; i++) {
        step(c);
        exec_stmt(c, body->items[i], env, out);
    }
    c->depth--;
}
