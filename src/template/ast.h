/* ast.h: the syntax tree of a compiled chat template. The shape follows
 * @huggingface/jinja's parser, so that precedence and the odd corners
 * (filters binding tighter than unary minus, `x if c` without else) agree. */
#ifndef OWL_TEMPLATE_AST_H
#define OWL_TEMPLATE_AST_H

#include "template/value.h"

typedef enum jtype {
    /* statements */
    N_TEXT, N_IF, N_FOR, N_SET, N_MACRO, N_CALLBLOCK, N_FILTERBLOCK, N_BREAK, N_CONTINUE, N_COMMENT,
    /* expressions */
    N_STR, N_INT, N_FLOAT, N_ARRAY, N_TUPLE, N_OBJECT, N_IDENT, N_MEMBER, N_SLICE, N_CALL, N_KWARG, N_SPREAD,
    N_KWSPREAD, N_BINARY, N_UNARY, N_FILTER, N_TEST, N_SELECT, N_TERNARY
} jtype;

typedef enum jop {
    OP_NONE, OP_OR, OP_AND, OP_NOT, OP_IN, OP_NOT_IN, OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE,
    OP_ADD, OP_SUB, OP_CONCAT, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW
} jop;

typedef struct jlist {
    jnode **items;
    size_t n;
} jlist;

struct jnode {
    jtype type;
    jop op;
    int flag;            /* N_MEMBER: computed; N_TEST: negated; N_MACRO/N_CALLBLOCK: uses kwargs (1) / varargs (2) */
    unsigned line;
    const char *s;       /* N_TEXT, N_STR, N_IDENT: bytes; N_KWARG: the key */
    size_t n;
    double num;          /* N_INT, N_FLOAT */
    jnode *a, *b, *c;    /* operands; see parse.c for which is which */
    jlist list;          /* items, arguments, body */
    jlist alt;           /* else / elif branch, macro parameters, object values */
};

typedef struct jprogram {
    jlist body;
} jprogram;

/* Parses preprocessed-and-tokenised template source; jfails on a syntax error. */
jprogram *jparse(jctx *c, const char *src, size_t n);

#endif
