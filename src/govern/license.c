/* license.c: the licence catalogue (data/licenses.json, embedded at build
 * time), detection of a model's licence from declared fields and LICENSE
 * texts with evidence and confidence, and the decision for an intended use. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "owl.h"

extern const char owl_licenses_json[];
extern const size_t owl_licenses_json_len;

#define MAX_ENTRIES 64
#define MAX_ALIASES 12
#define MAX_PRINTS 6
#define TEXT_CAP (1u << 20) /* a LICENSE file longer than 1 MiB is read only to here */

typedef struct entry {
    owl_license_terms t;
    size_t n_aliases, n_prints;
    const char *aliases[MAX_ALIASES];
    const char *prints[MAX_PRINTS];
} entry;

/* The catalogue is immutable once parsed; parsed once, on first use. The
 * jansson tree is kept alive because entries point into its strings. */
static entry entries[MAX_ENTRIES];
static size_t n_entries;
static json_t *catalogue_root;
static pthread_once_t catalogue_once = PTHREAD_ONCE_INIT;

static const char *str_or_null(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void free_catalogue(void) {
    json_decref(catalogue_root);
    catalogue_root = NULL;
    n_entries = 0;
}

static void load_catalogue(void) {
    catalogue_root = json_loadb(owl_licenses_json, owl_licenses_json_len, 0, NULL);
    atexit(free_catalogue);
    json_t *list = json_object_get(catalogue_root, "licenses");
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        if (n_entries == MAX_ENTRIES || !str_or_null(o, "id")) break;
        entry *e = &entries[n_entries++];
        e->t.id = str_or_null(o, "id");
        e->t.name = str_or_null(o, "name");
        e->t.source = str_or_null(o, "source");
        e->t.osi_approved = json_is_true(json_object_get(o, "osi_approved"));
        e->t.commercial = json_is_true(json_object_get(o, "commercial"));
        json_t *mau = json_object_get(o, "mau_limit");
        e->t.mau_limit = json_is_integer(mau) && json_integer_value(mau) > 0 ? (uint64_t)json_integer_value(mau) : 0;
        e->t.attribution = str_or_null(o, "attribution");
        e->t.name_prefix = str_or_null(o, "name_prefix");
        e->t.aup = str_or_null(o, "aup");
        e->t.redistribution = str_or_null(o, "redistribution");
        e->t.outputs_train_models = str_or_null(o, "outputs_train_models");
        e->t.field_of_use = str_or_null(o, "field_of_use");
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(o, "aliases"), j, a) {
            if (e->n_aliases < MAX_ALIASES && json_is_string(a)) e->aliases[e->n_aliases++] = json_string_value(a);
        }
        json_array_foreach(json_object_get(o, "fingerprints"), j, a) {
            if (e->n_prints < MAX_PRINTS && json_is_string(a)) e->prints[e->n_prints++] = json_string_value(a);
        }
    }
}

static void ensure_catalogue(void) { pthread_once(&catalogue_once, load_catalogue); }

const owl_license_terms *owl_license_get(size_t i) {
    ensure_catalogue();
    return i < n_entries ? &entries[i].t : NULL;
}

/* Lower case, '-', '_' and runs of space as one space, trimmed; into out (cap bytes). */
static void normalise_name(const char *s, char *out, size_t cap) {
    size_t n = 0;
    int space = 0;
    for (; *s && n + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '-' || c == '_' || isspace(c)) { space = n > 0; continue; }
        if (space && n + 2 < cap) out[n++] = ' ';
        space = 0;
        out[n++] = (char)tolower(c);
    }
    out[n] = 0;
}

/* Same name ignoring separators entirely ("llama3.1" == "llama 3.1"). */
static int same_name(const char *a, const char *b) {
    for (;;) {
        while (*a == ' ') a++;
        while (*b == ' ') b++;
        if (*a != *b) return 0;
        if (!*a) return 1;
        a++, b++;
    }
}

const owl_license_terms *owl_license_find(const char *text) {
    if (!text) return NULL;
    ensure_catalogue();
    char want[256], have[256];
    if (strlen(text) >= sizeof want) return NULL;
    normalise_name(text, want, sizeof want);
    if (!want[0]) return NULL;
    for (size_t i = 0; i < n_entries; i++) {
        normalise_name(entries[i].t.id, have, sizeof have);
        if (same_name(want, have)) return &entries[i].t;
        for (size_t j = 0; j < entries[i].n_aliases; j++) {
            normalise_name(entries[i].aliases[j], have, sizeof have);
            if (same_name(want, have)) return &entries[i].t;
        }
    }
    return NULL;
}

/* A link names a licence when it holds the entry's source address (scheme and
 * trailing '/' ignored), e.g. https://www.llama.com/llama3_1/license/. */
static const owl_license_terms *find_by_link(const char *link) {
    if (!link || strlen(link) > 2048) return NULL;
    for (size_t i = 0; i < n_entries; i++) {
        const char *src = entries[i].t.source;
        if (!src) continue;
        const char *p = strstr(src, "://");
        p = p ? p + 3 : src;
        size_t n = strlen(p);
        while (n && p[n - 1] == '/') n--;
        if (n < 8) continue;
        for (const char *q = link; *q; q++) {
            if (strncasecmp(q, p, n) == 0) return &entries[i].t;
        }
    }
    return NULL;
}

/* The catalogue entry whose fingerprints a licence text holds most strongly
 * (total length of the phrases found, so specific phrases beat generic ones). */
static const owl_license_terms *find_by_text(const char *text, size_t len, double *confidence) {
    if (len > TEXT_CAP) len = TEXT_CAP;
    char *norm = malloc(len + 1);
    if (!norm) return NULL;
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isspace(c) || c == '*' || c == '#' || c == '"' || c == '\'' || c == '`') { space = n > 0; continue; }
        if (!c) continue;
        if (space) norm[n++] = ' ';
        space = 0;
        norm[n++] = (char)tolower(c);
    }
    norm[n] = 0;
    const owl_license_terms *best = NULL;
    size_t best_score = 0, best_found = 0, best_total = 1;
    for (size_t i = 0; i < n_entries; i++) {
        size_t score = 0, found = 0;
        for (size_t j = 0; j < entries[i].n_prints; j++) {
            if (strstr(norm, entries[i].prints[j])) score += strlen(entries[i].prints[j]), found++;
        }
        if (score > best_score) best = &entries[i].t, best_score = score, best_found = found, best_total = entries[i].n_prints;
    }
    free(norm);
    *confidence = best ? 0.5 + 0.3 * (double)best_found / (double)best_total : 0;
    return best;
}

static void add_evidence(owl_license_detection *d, const char *where, const char *field, const char *value,
                         const owl_license_terms *t, double confidence) {
    if (d->n_evidence == OWL_LICENSE_MAX_EVIDENCE) return;
    owl_license_evidence *e = &d->evidence[d->n_evidence++];
    e->where = where, e->field = field, e->value = value, e->terms = t, e->confidence = t ? confidence : 0;
}

/* "other", "unknown" and empty values declare nothing by themselves. */
static int is_placeholder(const char *v) {
    return !v || !*v || strcasecmp(v, "other") == 0 || strcasecmp(v, "unknown") == 0 || strcasecmp(v, "none") == 0;
}

static int refines(const owl_license_terms *narrow, const owl_license_terms *broad) {
    size_t n = strlen(broad->id);
    return strncmp(narrow->id, broad->id, n) == 0 && narrow->id[n] == '+';
}

void owl_license_detect_sources(const owl_license_sources *s, owl_license_detection *d) {
    ensure_catalogue();
    memset(d, 0, sizeof *d);
    if (!is_placeholder(s->license)) add_evidence(d, s->where, s->gguf ? "general.license" : "license", s->license, owl_license_find(s->license), 0.9);
    if (!is_placeholder(s->license_name))
        add_evidence(d, s->where, s->gguf ? "general.license.name" : "license_name", s->license_name, owl_license_find(s->license_name), 0.85);
    if (!is_placeholder(s->license_link))
        add_evidence(d, s->where, s->gguf ? "general.license.link" : "license_link", s->license_link, find_by_link(s->license_link), 0.7);
    if (s->text && s->text_len) {
        double c = 0;
        const owl_license_terms *t = find_by_text(s->text, s->text_len, &c);
        add_evidence(d, s->text_where, "LICENSE text", NULL, t, c);
    }
    /* the best source wins; agreeing sources raise confidence, disagreeing ones are a conflict */
    const owl_license_evidence *best = NULL;
    for (size_t i = 0; i < d->n_evidence; i++) {
        if (d->evidence[i].terms && (!best || d->evidence[i].confidence > best->confidence)) best = &d->evidence[i];
    }
    if (!best) return;
    /* a licence that refines another ("CC-BY-NC-4.0+Cohere-AUP" of "CC-BY-NC-4.0") is agreement, not conflict */
    for (size_t i = 0; i < d->n_evidence; i++) {
        const owl_license_terms *t = d->evidence[i].terms;
        if (t && t != best->terms && refines(t, best->terms)) best = &d->evidence[i];
    }
    d->terms = best->terms;
    double miss = 1 - best->confidence;
    for (size_t i = 0; i < d->n_evidence; i++) {
        const owl_license_evidence *e = &d->evidence[i];
        if (!e->terms || e == best) continue;
        if (e->terms != best->terms && !refines(best->terms, e->terms)) d->conflict = 1;
        else miss *= 1 - e->confidence;
    }
    d->confidence = d->conflict ? best->confidence * 0.5 : 1 - miss;
}

static char *read_small_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(TEXT_CAP + 1);
    size_t n = buf ? fread(buf, 1, TEXT_CAP, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The LICENSE file's text is kept per model; detection is rare, so a small
 * cache keyed by nothing is not worth it: the text is read, fingerprinted and freed. */
owl_status owl_license_detect(const owl_model *m, owl_license_detection *d, owl_error *err) {
    const owl_model_info *info = owl_model_get_info(m);
    owl_license_sources s = {info->license.source, info->format == OWL_FORMAT_GGUF, info->license.license, info->license.license_name,
                             info->license.license_link, NULL, NULL, 0};
    char *text = NULL;
    static const char *const names[] = {"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE"};
    if (info->n_files && (info->format == OWL_FORMAT_HF_DIR || info->format == OWL_FORMAT_PEFT_ADAPTER)) {
        const char *first = info->files[0].path;
        const char *slash = strrchr(first, '/');
        size_t dlen = slash ? (size_t)(slash - first) : 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !text; i++) {
            char path[4096];
            int k = dlen ? snprintf(path, sizeof path, "%.*s/%s", (int)dlen, first, names[i])
                         : snprintf(path, sizeof path, "%s", names[i]);
            if (k < 0 || (size_t)k >= sizeof path) break;
            text = read_small_file(path, &s.text_len);
        }
    }
    s.text = text;
    s.text_where = text ? "LICENSE" : NULL;
    owl_license_detect_sources(&s, d);
    free(text);
    (void)err;
    return OWL_OK;
}

static void appendf(char *buf, size_t cap, const char *fmt, ...) OWL_PRINTF(3, 4);
static void appendf(char *buf, size_t cap, const char *fmt, ...) {
    if (!buf || !cap) return;
    size_t n = strnlen(buf, cap);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

int owl_license_check(const owl_license_terms *t, const owl_use_request *r, char *reasons, size_t reasons_cap,
                      char *duties, size_t duties_cap) {
    if (reasons && reasons_cap) reasons[0] = 0;
    if (duties && duties_cap) duties[0] = 0;
    if (!t) {
        appendf(reasons, reasons_cap, "the licence is unknown: no catalogue entry matches what the model declares\n");
        return OWL_LICENSE_UNKNOWN;
    }
    int denied = 0;
    if (!t->commercial && r->use == OWL_USE_COMMERCIAL) {
        appendf(reasons, reasons_cap, "%s does not allow commercial use (%s)\n", t->id,
                t->field_of_use ? t->field_of_use : "non-commercial only");
        denied = 1;
    }
    if (!t->commercial && r->use == OWL_USE_INTERNAL) {
        appendf(reasons, reasons_cap, "%s allows only non-commercial use; use inside an organisation's business counts as commercial\n", t->id);
        denied = 1;
    }
    if (!t->commercial && r->distribute && r->use != OWL_USE_RESEARCH) {
        appendf(reasons, reasons_cap, "%s: redistribution is %s\n", t->id, t->redistribution ? t->redistribution : "restricted");
        denied = 1;
    }
    if (t->mau_limit && r->monthly_users > t->mau_limit) {
        appendf(reasons, reasons_cap,
                "%s: more than %llu monthly active users needs a separate licence from the licensor (asked for %llu)\n",
                t->id, (unsigned long long)t->mau_limit, (unsigned long long)r->monthly_users);
        denied = 1;
    }
    if (denied) return OWL_LICENSE_DENIED;
    if (t->aup) appendf(duties, duties_cap, "follow the acceptable use policy: %s\n", t->aup);
    if (t->field_of_use && !t->aup) appendf(duties, duties_cap, "stay within: %s\n", t->field_of_use);
    if ((r->distribute || r->derivative) && t->attribution) appendf(duties, duties_cap, "%s\n", t->attribution);
    if (r->distribute && t->redistribution) appendf(duties, duties_cap, "redistribution: %s\n", t->redistribution);
    if (r->derivative && t->name_prefix)
        appendf(duties, duties_cap, "a derivative model's name must begin with \"%s\"\n", t->name_prefix);
    if (r->derivative && t->outputs_train_models)
        appendf(duties, duties_cap, "training other models on outputs: %s\n", t->outputs_train_models);
    if (t->mau_limit && !r->monthly_users)
        appendf(duties, duties_cap, "stay at or under %llu monthly active users (or obtain a licence)\n",
                (unsigned long long)t->mau_limit);
    return OWL_LICENSE_ALLOWED;
}
