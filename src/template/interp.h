/* interp.h: what the evaluator (eval.c) and the built-in filters, tests and
 * methods (builtins.c) share. */
#ifndef OWL_TEMPLATE_INTERP_H
#define OWL_TEMPLATE_INTERP_H

#include "template/ast.h"

struct jenv {
    jenv *parent;
    const char **names;
    size_t *nlen;
    value *vals;
    size_t n, cap;
};

jenv *env_new(jctx *c, jenv *parent);
void env_set(jctx *c, jenv *e, const char *name, size_t n, value v);
value env_lookup(const jenv *e, const char *name, size_t n);

/* Control flow out of a block: set by {% break %} / {% continue %}. */
enum { CTL_NONE, CTL_BREAK, CTL_CONTINUE };

value jeval(jctx *c, const jnode *x, jenv *env);
void jexec_block(jctx *c, const jlist *body, jenv *env, strbuf *out);
/* Positional values then (if any) one V_KWARGS value, as the reference passes them. */
void jeval_args(jctx *c, const jlist *args, jenv *env, value **out, size_t *n, value *kwargs);
value jcall(jctx *c, value fn, value *args, size_t nargs, jenv *env);

/* builtins.c */
value builtin_member(jctx *c, value obj, const char *name, size_t n);
value apply_filter(jctx *c, value operand, const jnode *filter, jenv *env);
int run_test(jctx *c, const char *name, size_t n, value operand, const value *arg);
void install_globals(jctx *c, jenv *globals);

#endif
