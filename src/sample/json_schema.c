/* json_schema.c: output that must be JSON matching a schema. The schema is
 * compiled once into a tree of nodes; generation then runs a byte-level
 * pushdown matcher whose whole state is a small fixed-size struct, so it can
 * be copied at will. Masking walks a trie of every token's bytes, built
 * once: a subtree is dropped at the first byte the matcher refuses, so each
 * step visits only the viable prefixes instead of scanning the vocabulary
 * with string work.
 *
 * Supported: type (one or a list), object (properties in the schema's order,
 * required ones always present, optional ones written too), array (items,
 * minItems, maxItems), string (minLength, maxLength), integer, number,
 * boolean, null, enum and const (of scalars), $ref into $defs/definitions.
 * Output is compact JSON with at most one space where JSON allows space.
 * Every string, number and array is bounded, so a finished value is always
 * reachable. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "owl.h"
#include "sample/token_trie.h"
#include "tokenizer/tokenizer.h"

#define MAX_NODES 512
#define MAX_PROPS 64
#define MAX_ENUM 64
#define MAX_DEPTH 24
#define MAX_LIT 128
#define DEFAULT_MAX_STRING 48
#define DEFAULT_MAX_ITEMS 6
#define MAX_NUMBER_DIGITS 12

enum { T_NULL = 1, T_BOOL = 2, T_INT = 4, T_NUM = 8, T_STR = 16, T_ARR = 32, T_OBJ = 64 };

typedef struct snode {
    unsigned types;          /* T_* allowed */
    int n_enum;              /* > 0: the value is one of these literal texts */
    char *lit[MAX_ENUM];
    int n_props;
    char *key[MAX_PROPS];    /* the literal "\"name\":" */
    int prop[MAX_PROPS];     /* node index of each property's schema */
    int items;               /* node index, or -1: any scalar */
    int min_items, max_items, min_len, max_len;
} snode;

struct owl_json_schema {
    snode *nodes;
    int n;
};

/* ---- compiling the schema ------------------------------------------------ */

typedef struct compiler {
    owl_json_schema *s;
    json_t *root;
    owl_error *err;
    int depth;
} compiler;

static int add_node(compiler *c) {
    if (c->s->n >= MAX_NODES) return owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: more than %d nodes", MAX_NODES), -1;
    snode *nd = &c->s->nodes[c->s->n];
    memset(nd, 0, sizeof *nd);
    nd->items = -1;
    nd->max_items = DEFAULT_MAX_ITEMS;
    nd->max_len = DEFAULT_MAX_STRING;
    return c->s->n++;
}

static unsigned type_bit(const char *t) {
    if (!strcmp(t, "null")) return T_NULL;
    if (!strcmp(t, "boolean")) return T_BOOL;
    if (!strcmp(t, "integer")) return T_INT;
    if (!strcmp(t, "number")) return T_NUM | T_INT;
    if (!strcmp(t, "string")) return T_STR;
    if (!strcmp(t, "array")) return T_ARR;
    if (!strcmp(t, "object")) return T_OBJ;
    return 0;
}

static int compile(compiler *c, json_t *sch);

static json_t *resolve_ref(compiler *c, const char *ref) {
    const char *name = NULL;
    json_t *defs = NULL;
    if (!strncmp(ref, "#/$defs/", 8)) defs = json_object_get(c->root, "$defs"), name = ref + 8;
    else if (!strncmp(ref, "#/definitions/", 14)) defs = json_object_get(c->root, "definitions"), name = ref + 14;
    else if (!strcmp(ref, "#")) return c->root;
    return defs && name ? json_object_get(defs, name) : NULL;
}

static int literal_text(json_t *v, char **out) {
    if (!(json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v))) return 0;
    *out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return *out && strlen(*out) < MAX_LIT;
}

static int compile(compiler *c, json_t *sch) {
    if (++c->depth > MAX_DEPTH) return owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: nested deeper than %d", MAX_DEPTH), -1;
    int id = -1;
    json_t *ref = json_object_get(sch, "$ref");
    if (json_is_string(ref)) {
        json_t *target = resolve_ref(c, json_string_value(ref));
        if (!target) {
            owl_fail(c->err, OWL_ERR_INPUT, "json schema: $ref %s does not resolve (use #/$defs/NAME)", json_string_value(ref));
            goto out;
        }
        id = compile(c, target);
        goto out;
    }
    if (json_is_true(sch) || (json_is_object(sch) && !json_object_size(sch))) { /* anything: any scalar or container of scalars */
        if ((id = add_node(c)) < 0) goto out;
        c->s->nodes[id].types = T_NULL | T_BOOL | T_INT | T_NUM | T_STR;
        goto out;
    }
    if (!json_is_object(sch)) {
        owl_fail(c->err, OWL_ERR_INPUT, "json schema: a schema must be an object");
        goto out;
    }
    if ((id = add_node(c)) < 0) goto out;
    json_t *en = json_object_get(sch, "enum"), *cn = json_object_get(sch, "const"), *ty = json_object_get(sch, "type");
    if (en || cn) {
        size_t n = cn ? 1 : json_array_size(en);
        if (!n || n > MAX_ENUM) {
            owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: enum needs 1..%d values", MAX_ENUM);
            id = -1;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            char *t = NULL;
            if (!literal_text(cn ? cn : json_array_get(en, i), &t)) {
                free(t);
                owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: enum and const values must be short strings, numbers, booleans or null");
                id = -1;
                goto out;
            }
            c->s->nodes[id].lit[c->s->nodes[id].n_enum++] = t;
        }
        goto out;
    }
    unsigned types = 0;
    if (json_is_string(ty)) types = type_bit(json_string_value(ty));
    else if (json_is_array(ty)) {
        size_t i;
        json_t *t;
        json_array_foreach(ty, i, t) types |= json_is_string(t) ? type_bit(json_string_value(t)) : 0;
    } else if (json_object_get(sch, "properties")) types = T_OBJ;
    else if (json_object_get(sch, "items")) types = T_ARR;
    if (!types) {
        owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: give a type (null, boolean, integer, number, string, array, object), enum or const");
        id = -1;
        goto out;
    }
    c->s->nodes[id].types = types;
    json_t *v;
    if (json_is_integer(v = json_object_get(sch, "minLength"))) c->s->nodes[id].min_len = (int)json_integer_value(v);
    if (json_is_integer(v = json_object_get(sch, "maxLength"))) c->s->nodes[id].max_len = (int)json_integer_value(v);
    if (json_is_integer(v = json_object_get(sch, "minItems"))) c->s->nodes[id].min_items = (int)json_integer_value(v);
    if (json_is_integer(v = json_object_get(sch, "maxItems"))) c->s->nodes[id].max_items = (int)json_integer_value(v);
    snode *nd = &c->s->nodes[id];
    if (nd->min_len < 0 || nd->max_len < nd->min_len || nd->max_len > 4096 || nd->min_items < 0 ||
        nd->max_items < nd->min_items || nd->max_items > 1024) {
        owl_fail(c->err, OWL_ERR_INPUT, "json schema: length and item bounds must satisfy 0 <= min <= max (strings up to 4096, arrays up to 1024)");
        id = -1;
        goto out;
    }
    if (types & T_ARR) {
        json_t *items = json_object_get(sch, "items");
        int it = items ? compile(c, items) : -1;
        if (items && it < 0) {
            id = -1;
            goto out;
        }
        c->s->nodes[id].items = it;
    }
    if (types & T_OBJ) {
        json_t *props = json_object_get(sch, "properties");
        const char *k;
        json_t *ps;
        json_object_foreach(props, k, ps) {
            if (c->s->nodes[id].n_props >= MAX_PROPS) {
                owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: more than %d properties", MAX_PROPS);
                id = -1;
                goto out;
            }
            json_t *ks = json_string(k);
            char *q = json_dumps(ks, JSON_ENCODE_ANY | JSON_COMPACT);
            json_decref(ks);
            size_t ql = q ? strlen(q) : 0;
            char *lit = q && ql + 2 < MAX_LIT ? malloc(ql + 2) : NULL;
            if (!lit) {
                free(q);
                owl_fail(c->err, OWL_ERR_UNSUPPORTED, "json schema: property name too long");
                id = -1;
                goto out;
            }
            memcpy(lit, q, ql);
            lit[ql] = ':';
            lit[ql + 1] = '\0';
            free(q);
            int p = compile(c, ps);
            if (p < 0) {
                free(lit);
                id = -1;
                goto out;
            }
            int at = c->s->nodes[id].n_props++;
            c->s->nodes[id].key[at] = lit;
            c->s->nodes[id].prop[at] = p;
        }
    }
out:
    c->depth--;
    return id;
}

owl_status owl_json_schema_compile(const char *schema_json, owl_json_schema **out, owl_error *err) {
    if (!schema_json || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_json_schema_compile: schema and out must not be NULL");
    *out = NULL;
    json_error_t je;
    json_t *root = json_loads(schema_json, JSON_REJECT_DUPLICATES, &je);
    if (!root) return owl_fail(err, OWL_ERR_INPUT, "json schema: line %d: %s", je.line, je.text);
    owl_json_schema *s = calloc(1, sizeof *s);
    if (!s || !(s->nodes = calloc(MAX_NODES, sizeof *s->nodes))) {
        free(s);
        json_decref(root);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    compiler c = {s, root, err, 0};
    int top = compile(&c, root);
    json_decref(root);
    if (top < 0) {
        owl_json_schema_free(s);
        return err && err->status ? err->status : OWL_ERR_INPUT;
    }
    *out = s;
    return OWL_OK;
}

void owl_json_schema_free(owl_json_schema *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        for (int k = 0; k < s->nodes[i].n_enum; k++) free(s->nodes[i].lit[k]);
        for (int k = 0; k < s->nodes[i].n_props; k++) free(s->nodes[i].key[k]);
    }
    free(s->nodes);
    free(s);
}

/* ---- the matcher ------------------------------------------------------------ */

enum {
    F_VALUE,   /* before a value of node: space allowed, then its first byte */
    F_LIT,     /* inside one of several literal texts (enum, true/false/null, a key) */
    F_STRING,  /* inside a string */
    F_NUMBER,  /* inside a number */
    F_OBJECT,  /* between members */
    F_ARRAY,   /* between items */
};

typedef struct frame {
    uint8_t kind, phase, space;
    int16_t node;
    int16_t count;     /* string: characters; number: digits; object: next property; array: items */
    uint64_t alive;    /* F_LIT: which literals still match */
    uint16_t pos;      /* F_LIT: bytes matched */
    uint8_t is_key;    /* F_LIT: an object key (then a value follows) */
} frame;

struct owl_json_match {
    const owl_json_schema *s;
    int depth;
    int done;
    frame f[MAX_DEPTH * 2 + 2];
};

static const char *const KEYWORDS[3] = {"true", "false", "null"};

static const char *lit_of(const owl_json_match *m, const frame *f, int k) {
    if (f->node < 0) return KEYWORDS[k]; /* a bare keyword frame */
    const snode *nd = &m->s->nodes[f->node];
    return f->is_key ? nd->key[k] : nd->lit[k];
}

static int push(owl_json_match *m, frame f) {
    if (m->depth >= (int)(sizeof m->f / sizeof m->f[0])) return 0;
    m->f[m->depth++] = f;
    return 1;
}

static int feed(owl_json_match *m, unsigned char ch);
static int value_done(owl_json_match *m);

/* every literal still alive in the top F_LIT frame ends at its position */
static int lit_finished(const owl_json_match *m) {
    const frame *f = &m->f[m->depth - 1];
    int n = f->node < 0 ? 3 : f->is_key ? m->s->nodes[f->node].n_props : m->s->nodes[f->node].n_enum;
    for (int k = 0; k < n; k++)
        if ((f->alive >> k & 1) && lit_of(m, f, k)[f->pos] != '\0') return 0;
    return 1;
}

/* the top F_LIT frame is complete: a key is followed by its value, a value is done */
static int finish_lit(owl_json_match *m) {
    const frame *f = &m->f[m->depth - 1];
    int is_key = f->is_key, node = f->node;
    m->depth--;
    if (!is_key) return value_done(m);
    frame *o = &m->f[m->depth - 1];
    o->phase = 1;
    return push(m, (frame){F_VALUE, 0, 0, (int16_t)m->s->nodes[node].prop[o->count - 1], 0, 0, 0, 0});
}

/* a value of node n is complete: tell the frame below */
static int value_done(owl_json_match *m) {
    if (!m->depth) {
        m->done = 1;
        return 1;
    }
    frame *p = &m->f[m->depth - 1];
    if (p->kind == F_OBJECT) p->phase = 2, p->space = 0; /* after a member value: ',' or '}' */
    else if (p->kind == F_ARRAY) p->phase = 2, p->space = 0, p->count++;
    return 1;
}

static int start_value(owl_json_match *m, int node, unsigned char ch) {
    const snode *nd = &m->s->nodes[node];
    if (nd->n_enum) {
        frame f = {F_LIT, 0, 0, (int16_t)node, 0, 0, 0, 0};
        for (int k = 0; k < nd->n_enum; k++)
            if ((unsigned char)nd->lit[k][0] == ch) f.alive |= 1ull << k;
        if (!f.alive) return 0;
        f.pos = 1;
        if (!push(m, f)) return 0;
        return lit_finished(m) ? finish_lit(m) : 1; /* a one-byte literal is already complete */
    }
    unsigned t = nd->types;
    if (ch == '"' && (t & T_STR)) return push(m, (frame){F_STRING, 0, 0, (int16_t)node, 0, 0, 0, 0});
    if ((ch == '-' || (ch >= '0' && ch <= '9')) && (t & (T_INT | T_NUM))) {
        frame f = {F_NUMBER, ch == '-' ? 0 : ch == '0' ? 2 : 1, 0, (int16_t)node, (int16_t)(ch == '-' ? 0 : 1), 0, 0, 0};
        return push(m, f);
    }
    if (ch == '{' && (t & T_OBJ)) return push(m, (frame){F_OBJECT, 0, 0, (int16_t)node, 0, 0, 0, 0});
    if (ch == '[' && (t & T_ARR)) return push(m, (frame){F_ARRAY, 0, 0, (int16_t)node, 0, 0, 0, 0});
    int kw = ch == 't' || ch == 'f' ? ((t & T_BOOL) ? (ch == 't' ? 0 : 1) : -1) : ch == 'n' && (t & T_NULL) ? 2 : -1;
    if (kw >= 0) return push(m, (frame){F_LIT, 0, 0, -1, 0, 1ull << kw, 1, 0});
    return 0;
}

/* number grammar: phase 0 after '-', 1 in integer digits, 2 after a leading 0,
   3 after '.', 4 fraction digits, 5 after e, 6 after e sign, 7 exponent digits */
static int number_byte(owl_json_match *m, frame *f, unsigned char ch) {
    int is_int = !(m->s->nodes[f->node].types & T_NUM);
    int digit = ch >= '0' && ch <= '9';
    switch (f->phase) {
    case 0: if (digit) { f->phase = ch == '0' ? 2 : 1; f->count++; return 1; } return 0;
    case 1:
        if (digit && f->count < MAX_NUMBER_DIGITS) { f->count++; return 1; }
        /* fall through */
    case 2:
        if (ch == '.' && !is_int) { f->phase = 3; return 1; }
        if ((ch == 'e' || ch == 'E') && !is_int) { f->phase = 5; return 1; }
        break;
    case 3: if (digit) { f->phase = 4; f->count = 1; return 1; } return 0;
    case 4:
        if (digit && f->count < MAX_NUMBER_DIGITS) { f->count++; return 1; }
        if (ch == 'e' || ch == 'E') { f->phase = 5; return 1; }
        break;
    case 5: if (ch == '+' || ch == '-') { f->phase = 6; return 1; } /* fall through */
    case 6: if (digit) { f->phase = 7; f->count = 1; return 1; } return 0;
    case 7: if (digit && f->count < 3) { f->count++; return 1; } break;
    }
    /* the number ends here: the byte belongs to what follows */
    if (!(f->phase == 1 || f->phase == 2 || f->phase == 4 || f->phase == 7)) return 0;
    m->depth--;
    if (!m->depth) return 0; /* nothing may follow a complete top-level value */
    value_done(m);
    return feed(m, ch);
}

static int feed(owl_json_match *m, unsigned char ch) {
    if (m->done) return 0;
    if (!m->depth) return 0;
    frame *f = &m->f[m->depth - 1];
    switch (f->kind) {
    case F_VALUE:
        if (ch == ' ' && !f->space) { f->space = 1; return 1; }
        {
            int node = f->node;
            m->depth--;
            return start_value(m, node, ch);
        }
    case F_LIT: {
        int n = f->node < 0 ? 3 : f->is_key ? m->s->nodes[f->node].n_props : m->s->nodes[f->node].n_enum;
        uint64_t next = 0;
        int ended = 0; /* an alive literal already ended before this byte */
        for (int k = 0; k < n; k++) {
            if (!(f->alive >> k & 1)) continue;
            unsigned char want = (unsigned char)lit_of(m, f, k)[f->pos];
            if (!want) ended = 1;
            else if (want == ch) next |= 1ull << k;
        }
        if (next) {
            f->alive = next;
            f->pos++;
            return lit_finished(m) ? finish_lit(m) : 1;
        }
        if (!ended) return 0;
        /* "1" of enum [1, 12] followed by ',': the shorter literal was the value */
        if (f->is_key) return 0;
        m->depth--;
        if (!m->depth) return 0; /* nothing may follow a complete top-level value */
        value_done(m);
        return feed(m, ch);
    }
    case F_STRING: {
        const snode *nd = &m->s->nodes[f->node];
        if (f->phase == 1) { /* after a backslash */
            if (!ch || !strchr("\"\\/bfnrt", ch)) return 0;
            f->phase = 0;
            f->count++;
            return 1;
        }
        if (f->pos) { /* inside a UTF-8 sequence: strictly valid, as JSON parsers demand */
            unsigned lo = 0x80, hi = 0xBF, lead = (unsigned)f->alive;
            if (f->phase == 2) { /* the first continuation byte after E0, ED, F0, F4 is narrower */
                if (lead == 0xE0) lo = 0xA0;
                else if (lead == 0xED) hi = 0x9F;
                else if (lead == 0xF0) lo = 0x90;
                else if (lead == 0xF4) hi = 0x8F;
                f->phase = 0;
            }
            if (ch < lo || ch > hi) return 0;
            f->pos--;
            return 1;
        }
        if (ch == '"') {
            if (f->count < nd->min_len) return 0;
            m->depth--;
            return value_done(m);
        }
        if (ch < 0x20 || (ch >= 0x80 && ch < 0xC2) || ch > 0xF4) return 0;
        if (f->count >= nd->max_len) return 0;
        f->count++;
        if (ch == '\\') f->phase = 1;
        else if (ch >= 0xC2) { /* a lead byte: how many continuation bytes follow */
            f->pos = ch < 0xE0 ? 1 : ch < 0xF0 ? 2 : 3;
            f->alive = ch;
            f->phase = 2;
        }
        return 1;
    }
    case F_NUMBER: return number_byte(m, f, ch);
    case F_OBJECT: {
        const snode *nd = &m->s->nodes[f->node];
        if (ch == ' ' && !f->space) { f->space = 1; return 1; }
        if (f->phase == 0 || (f->phase == 2 && ch == ',' && f->count < nd->n_props)) {
            if (f->phase == 2) { f->phase = 3; f->space = 0; return 1; }
            if (ch == '}' && nd->n_props == 0) { m->depth--; return value_done(m); }
            f->phase = 3;
        }
        if (f->phase == 3) { /* the next key, as a literal */
            if (ch == ' ' && !f->space) { f->space = 1; return 1; }
            if (f->count >= nd->n_props || ch != (unsigned char)nd->key[f->count][0]) return 0;
            f->count++;
            frame k = {F_LIT, 0, 0, f->node, 0, 1ull << (f->count - 1), 1, 1};
            return push(m, k);
        }
        if (f->phase == 2 && ch == '}' && f->count == nd->n_props) { m->depth--; return value_done(m); }
        return 0;
    }
    case F_ARRAY: {
        const snode *nd = &m->s->nodes[f->node];
        if (ch == ' ' && !f->space) { f->space = 1; return 1; }
        if (ch == ']' && f->count >= nd->min_items && (f->phase == 0 || f->phase == 2)) { m->depth--; return value_done(m); }
        if (f->phase == 2) {
            if (ch != ',' || f->count >= nd->max_items) return 0;
            f->phase = 1;
            f->space = 0;
            return 1;
        }
        if (f->count >= nd->max_items) return 0;
        f->phase = 1;
        int item = nd->items;
        if (item < 0) return 0; /* "items" missing: only an empty array */
        if (!push(m, (frame){F_VALUE, 0, 1, (int16_t)item, 0, 0, 0, 0})) return 0;
        return feed(m, ch);
    }
    }
    return 0;
}

owl_status owl_json_match_new(const owl_json_schema *s, owl_json_match **out, owl_error *err) {
    if (!s || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_json_match_new: schema and out must not be NULL");
    owl_json_match *m = calloc(1, sizeof *m);
    if (!m) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    m->s = s;
    m->f[m->depth++] = (frame){F_VALUE, 0, 1, 0, 0, 0, 0, 0}; /* node 0 is the root; no leading space */
    *out = m;
    return OWL_OK;
}

void owl_json_match_free(owl_json_match *m) { free(m); }

int owl_json_match_feed(owl_json_match *m, const char *bytes, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!feed(m, (unsigned char)bytes[i])) return 0;
    return 1;
}

int owl_json_match_complete(const owl_json_match *m) {
    if (m->done) return 1;
    if (m->depth == 1 && m->f[0].kind == F_LIT) { /* a literal that could still grow but may end here */
        const frame *f = &m->f[0];
        for (int k = 0; k < (f->node < 0 ? 3 : m->s->nodes[f->node].n_enum); k++)
            if ((f->alive >> k & 1) && lit_of(m, f, k)[f->pos] == '\0') return 1;
    }
    /* a top-level number ends where the text ends */
    if (m->depth == 1 && m->f[0].kind == F_NUMBER) {
        int ph = m->f[0].phase;
        return ph == 1 || ph == 2 || ph == 4 || ph == 7;
    }
    return 0;
}

/* ---- masking through a token trie -------------------------------------------- */

static int32_t trie_child(owl_token_trie *t, int32_t at, unsigned char b, int create) {
    int32_t c = t->n[at].child;
    for (; c >= 0; c = t->n[c].next)
        if (t->n[c].byte == b) return c;
    if (!create) return -1;
    if (t->count == t->cap) {
        int32_t cap = t->cap * 2;
        tnode *p = realloc(t->n, (size_t)cap * sizeof *p);
        if (!p) return -2;
        t->n = p;
        t->cap = cap;
    }
    c = t->count++;
    t->n[c] = (tnode){-1, t->n[at].child, -1, b};
    t->n[at].child = c;
    return c;
}

owl_status owl_token_trie_new(const owl_tokenizer *tk, int64_t n_vocab, owl_token_trie **out, owl_error *err) {
    if (!tk || !out || n_vocab < 1) return owl_fail(err, OWL_ERR_USAGE, "owl_token_trie_new: tokenizer and out must not be NULL");
    owl_token_trie *t = calloc(1, sizeof *t);
    if (!t || !(t->n = malloc(1024 * sizeof *t->n)) || !(t->tok_next = malloc((size_t)n_vocab * sizeof *t->tok_next))) {
        owl_token_trie_free(t);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    t->cap = 1024;
    t->count = 1;
    t->n[0] = (tnode){-1, -1, -1, 0};
    t->n_vocab = n_vocab;
    for (int32_t id = 0; id < n_vocab; id++) {
        t->tok_next[id] = -1;
        if (owl_token_is_eog(tk, id)) {
            if (t->n_eog < 8) t->eog[t->n_eog++] = id;
            continue;
        }
        /* the bytes the token adds in the middle of a text (no first-word space stripping) */
        const char *text;
        size_t len;
        tok_piece(tk, id, 0, &text, &len);
        if (!len) continue; /* control tokens render as nothing: never allowed */
        int32_t at = 0;
        for (size_t i = 0; i < len && at >= 0; i++) at = trie_child(t, at, (unsigned char)text[i], 1);
        if (at == -2) {
            owl_token_trie_free(t);
            return owl_fail(err, OWL_ERR_NOMEM, "out of memory for the token trie");
        }
        t->tok_next[id] = t->n[at].token;
        t->n[at].token = id;
    }
    *out = t;
    return OWL_OK;
}

void owl_token_trie_free(owl_token_trie *t) {
    if (!t) return;
    free(t->n);
    free(t->tok_next);
    free(t);
}

/* depth-first: a child is entered only with a matcher state that accepted its byte */
static void walk(const owl_token_trie *t, int32_t at, const owl_json_match *state, uint8_t *allowed, int64_t *n_allowed) {
    for (int32_t c = t->n[at].child; c >= 0; c = t->n[c].next) {
        owl_json_match next = *state;
        if (!feed(&next, t->n[c].byte)) continue;
        for (int32_t id = t->n[c].token; id >= 0; id = t->tok_next[id]) allowed[id] = 1, (*n_allowed)++;
        walk(t, c, &next, allowed, n_allowed);
    }
}

int64_t owl_json_match_allowed(const owl_json_match *m, const owl_token_trie *t, uint8_t *allowed) {
    memset(allowed, 0, (size_t)t->n_vocab);
    int64_t n = 0;
    walk(t, 0, m, allowed, &n);
    if (owl_json_match_complete(m))
        for (int i = 0; i < t->n_eog; i++) allowed[t->eog[i]] = 1, n++;
    return n;
}
