/* value.h: the values chat templates compute with, and the render context
 * they live in. Semantics follow @huggingface/jinja (the reference that
 * Hugging Face's tools render chat templates with), including its
 * JavaScript-flavoured corners: numbers are doubles tagged integer or float,
 * `==` is loose equality, strings print as JavaScript prints them.
 *
 * Every value of one render lives in one arena freed at the end, and errors
 * unwind with longjmp, so no code path has to free anything on failure. */
#ifndef OWL_TEMPLATE_VALUE_H
#define OWL_TEMPLATE_VALUE_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef enum vkind {
    V_UNDEF, V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR,
    V_ARRAY, V_TUPLE, V_OBJECT, V_KWARGS, V_NAMESPACE, V_FUNC
} vkind;

typedef struct vlist vlist;
typedef struct vdict vdict;
typedef struct vfunc vfunc;

typedef struct value {
    vkind k;
    union {
        double num;  /* V_INT, V_FLOAT */
        int b;       /* V_BOOL */
        struct { const char *s; size_t n; } str;
        vlist *list; /* V_ARRAY, V_TUPLE */
        vdict *dict; /* V_OBJECT, V_KWARGS, V_NAMESPACE */
        vfunc *fn;
    } u;
} value;

struct vlist { value *items; size_t n, cap; };

/* Insertion-ordered; a hash index is added once a dict grows past a few keys. */
struct vdict {
    const char **keys;
    size_t *klen;
    value *vals;
    size_t n, cap;
    uint32_t *index; /* open addressing over entries + 1, 0 = empty; NULL when small */
    size_t index_cap;
};

typedef struct jnode jnode;
typedef struct jenv jenv;
typedef struct jctx jctx;

typedef value (*builtin_fn)(jctx *c, value self, value *args, size_t nargs, jenv *env);

typedef enum { F_BUILTIN, F_MACRO, F_CALLER } fkind;
struct vfunc {
    fkind kind;
    builtin_fn fn;        /* F_BUILTIN */
    value self;           /* the string or dict a method is bound to */
    const jnode *node;    /* F_MACRO: the macro; F_CALLER: the call block */
    jenv *def_env;        /* F_CALLER: where the call block was written */
    const char *name;
};

/* ---- arena and growable text ------------------------------------------------ */

typedef struct arena_chunk arena_chunk;
typedef struct arena {
    arena_chunk *head;
    uint64_t used, cap; /* bytes handed out, and the most allowed */
} arena;

typedef struct strbuf { char *s; size_t n, cap; } strbuf;

/* The state of one render. */
struct jctx {
    arena mem;
    jmp_buf fail;
    owl_error *err;
    const char *name;          /* the template's name, for messages */
    uint64_t steps, max_steps;
    uint32_t depth, max_depth;
    uint64_t max_output;
    jenv *globals;
    int ctl;                   /* CTL_*: a break or continue unwinding to its loop */
};

_Noreturn void jfail(jctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void *jalloc(jctx *c, size_t n);
void arena_free(arena *a);

void sb_put(jctx *c, strbuf *b, const char *s, size_t n);
void sb_puts(jctx *c, strbuf *b, const char *s);
void sb_putc(jctx *c, strbuf *b, char ch);
value sb_value(jctx *c, strbuf *b);

/* ---- constructors --------------------------------------------------------- */

static inline value v_undef(void) { value v = {.k = V_UNDEF}; return v; }
static inline value v_null(void) { value v = {.k = V_NULL}; return v; }
static inline value v_bool(int b) { value v = {.k = V_BOOL}; v.u.b = !!b; return v; }
static inline value v_int(double x) { value v = {.k = V_INT}; v.u.num = x; return v; }
static inline value v_float(double x) { value v = {.k = V_FLOAT}; v.u.num = x; return v; }
value v_str(jctx *c, const char *s, size_t n);      /* copies */
value v_str_ref(const char *s, size_t n);           /* no copy: s outlives the render */
value v_list(jctx *c, vkind k, size_t cap);
value v_dict(jctx *c, vkind k);
value v_builtin(jctx *c, builtin_fn fn, value self, const char *name);

void list_push(jctx *c, value list, value item);
void dict_set(jctx *c, vdict *d, const char *key, size_t klen, value v);
/* NULL when absent. */
value *dict_get(const vdict *d, const char *key, size_t klen);

static inline int v_is_list(value v) { return v.k == V_ARRAY || v.k == V_TUPLE; }
static inline int v_is_dict(value v) { return v.k == V_OBJECT || v.k == V_KWARGS; }
static inline int v_is_num(value v) { return v.k == V_INT || v.k == V_FLOAT; }

/* ---- JavaScript-flavoured conversions -------------------------------------- */

const char *v_type_name(value v); /* "StringValue", ... as the reference names them */
int v_truthy(value v);
/* Number.prototype.toString. */
void js_number(jctx *c, strbuf *b, double x);
/* What String(value.value) gives: the raw JavaScript value as text. */
void js_raw_string(jctx *c, strbuf *b, value v);
/* RuntimeValue.toString(): how a value prints into the output. */
void v_to_string(jctx *c, strbuf *b, value v);
typedef struct json_opts {
    int indent;          /* 0: none */
    int ensure_ascii, sort_keys;
    const char *item_sep, *key_sep; /* NULL: the defaults */
} json_opts;
void v_to_json(jctx *c, strbuf *b, value v, const json_opts *o, int depth, int undef_as_null);
/* `==` of the reference: JavaScript's loose equality on the raw values. */
int v_loose_eq(jctx *c, value a, value b);
/* `===` on raw values (membership, unique). */
int v_strict_eq(value a, value b);
/* compareRuntimeValues: -1, 0, 1, or jfail for incomparable types. */
int v_compare(jctx *c, value a, value b, int case_sensitive);
/* JavaScript's String.prototype.length: UTF-16 code units. */
size_t js_length(const char *s, size_t n);

/* Unicode helpers on UTF-8 text (invalid bytes count as one code point each). */
size_t utf8_next(const char *s, size_t n, size_t i, int32_t *cp);
int js_is_space(int32_t cp);
value str_case(jctx *c, value s, int upper);

#endif
