/* hf_readme.c: the licence and lineage fields of a model card's YAML front
 * matter. A small line parser for the few shapes model cards use (`key:
 * value`, `key:` then `- item` lines, `key: [a, b]`, quoted values) rather
 * than a YAML library: everything else in the block is skipped. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/hf_config.h"

typedef struct text_line {
    const char *p;
    size_t n;
} text_line;

/* Next line (without its "\n" or "\r\n") starting at *pos; 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, text_line *out) {
    if (*pos >= len) return 0;
    const char *start = text + *pos, *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n && start[n - 1] == '\r') n--;
    *out = (text_line){start, n};
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

static text_line trim(text_line l) {
    while (l.n && is_space(l.p[0])) l.p++, l.n--;
    while (l.n && is_space(l.p[l.n - 1])) l.n--;
    return l;
}

static int line_is(text_line l, const char *s) {
    l = trim(l);
    return l.n == strlen(s) && memcmp(l.p, s, l.n) == 0;
}

/* One YAML scalar of v, up to `stop` (',' inside a flow list; 0: none),
   unquoted into out. Returns its length, 0 for an empty, null or over-long
   value, and sets *used to the bytes consumed (up to the terminator). */
static size_t scalar(text_line v, char stop, char *out, size_t cap, size_t *used) {
    size_t i = 0, k = 0;
    while (i < v.n && is_space(v.p[i])) i++;
    if (i < v.n && (v.p[i] == '"' || v.p[i] == '\'')) {
        char q = v.p[i++];
        int too_long = 0;
        for (; i < v.n; i++) {
            char c = v.p[i];
            if (c == q) {
                if (q == '\'' && i + 1 < v.n && v.p[i + 1] == '\'') {
                    i++; /* '' is a quote inside single quotes */
                } else {
                    i++;
                    break;
                }
            } else if (q == '"' && c == '\\' && i + 1 < v.n) {
                c = v.p[++i];
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            }
            if (k + 1 < cap) out[k++] = c;
            else too_long = 1;
        }
        while (i < v.n && v.p[i] != stop) i++;
        *used = i;
        out[k] = '\0';
        return too_long ? 0 : k;
    }
    size_t start = i, end = i;
    while (i < v.n && v.p[i] != stop) {
        if (v.p[i] == '#' && i > start && is_space(v.p[i - 1])) { /* a comment runs to the terminator */
            while (i < v.n && v.p[i] != stop) i++;
            break;
        }
        if (!is_space(v.p[i++])) end = i;
    }
    *used = i;
    size_t n = end - start;
    const char *p = v.p + start;
    if (n + 1 > cap || (n == 4 && memcmp(p, "null", 4) == 0) || (n == 1 && p[0] == '~')) return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

enum { K_NONE = -1, K_LICENSE, K_LICENSE_NAME, K_LICENSE_LINK, K_BASE_MODEL, K_DATASETS, K_COUNT };
static const char *const key_names[K_COUNT] = {"license", "license_name", "license_link", "base_model", "datasets"};

typedef struct card {
    owl_model *m;
    const char *scalar[3];
    const char *list[2][OWL_HF_MAX_LIST];
    size_t n_list[2];
    int found;
    char buf[OWL_HF_MAX_VALUE]; /* the value being unquoted */
} card;

static int add_value(card *c, int key, const char *s, size_t n) {
    if (!n) return 1;
    char *v = owl_model_strndup(c->m, s, n);
    if (!v) return 0;
    c->found = 1;
    if (key < K_BASE_MODEL) {
        if (!c->scalar[key]) c->scalar[key] = v; /* a licence given as a list: its first item */
    } else if (c->n_list[key - K_BASE_MODEL] < OWL_HF_MAX_LIST) {
        c->list[key - K_BASE_MODEL][c->n_list[key - K_BASE_MODEL]++] = v;
    }
    return 1;
}

/* `key: value`, `key: [a, b]` or `key:` (items follow). */
static int add_inline(card *c, int key, text_line v) {
    size_t used;
    v = trim(v);
    if (v.n && v.p[0] == '[') {
        text_line rest = {v.p + 1, v.n - 1};
        while (rest.n && rest.p[rest.n - 1] != ']') rest.n--; /* drops a trailing comment */
        if (rest.n) rest.n--;
        while (rest.n) {
            size_t n = scalar(rest, ',', c->buf, sizeof c->buf, &used);
            if (!add_value(c, key, c->buf, n)) return 0;
            if (used >= rest.n) break;
            rest.p += used + 1, rest.n -= used + 1;
        }
        return 1;
    }
    return add_value(c, key, c->buf, scalar(v, 0, c->buf, sizeof c->buf, &used));
}

static int read_block(card *c, const char *text, size_t pos, size_t end) {
    text_line l;
    int key = K_NONE;
    while (pos < end && next_line(text, end, &pos, &l)) {
        text_line t = trim(l);
        if (!t.n || t.p[0] == '#') continue;
        if (t.p[0] == '-' && (t.n == 1 || is_space(t.p[1]))) {
            size_t used;
            text_line item = {t.p + 1, t.n - 1};
            if (key != K_NONE && !add_value(c, key, c->buf, scalar(item, 0, c->buf, sizeof c->buf, &used))) return 0;
            continue;
        }
        if (is_space(l.p[0])) continue; /* nested mapping under some other key */
        const char *colon = memchr(l.p, ':', l.n);
        key = K_NONE;
        if (!colon) continue;
        text_line name = trim((text_line){l.p, (size_t)(colon - l.p)});
        for (int k = 0; k < K_COUNT; k++)
            if (name.n == strlen(key_names[k]) && memcmp(name.p, key_names[k], name.n) == 0) key = k;
        if (key == K_NONE) continue;
        if (key >= K_BASE_MODEL) c->n_list[key - K_BASE_MODEL] = 0; /* a repeated key replaces the list */
        if (!add_inline(c, key, (text_line){colon + 1, (size_t)(l.p + l.n - colon - 1)})) return 0;
    }
    return 1;
}

static const char *const *list_copy(owl_model *m, const char *const *items, size_t n) {
    const char **out = n ? owl_model_alloc(m, n * sizeof *out) : NULL;
    if (out) memcpy(out, items, n * sizeof *out);
    return out;
}

owl_status owl_hf_readme_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    size_t pos = 0, end;
    text_line l;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    if (!next_line(text, len, &pos, &l) || !line_is(l, "---")) return OWL_OK; /* no front matter */
    size_t body = pos;
    for (;;) {
        end = pos;
        if (!next_line(text, len, &pos, &l)) return OWL_OK; /* never closed: not front matter */
        if (line_is(l, "---") || line_is(l, "...")) break;
    }
    card *c = calloc(1, sizeof *c);
    if (!c) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    c->m = m;
    owl_status st = OWL_OK;
    owl_license_info *li = &m->info.license;
    if (!read_block(c, text, body, end)) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    } else if (c->found) {
        li->license = c->scalar[K_LICENSE];
        li->license_name = c->scalar[K_LICENSE_NAME];
        li->license_link = c->scalar[K_LICENSE_LINK];
        li->n_base_models = c->n_list[0];
        li->base_models = list_copy(m, c->list[0], c->n_list[0]);
        li->n_datasets = c->n_list[1];
        li->datasets = list_copy(m, c->list[1], c->n_list[1]);
        if ((li->n_base_models && !li->base_models) || (li->n_datasets && !li->datasets) ||
            !(li->source = owl_model_strdup(m, path)))
            st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    free(c);
    return st;
}
