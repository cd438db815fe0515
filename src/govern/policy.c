/* policy.c: an organisation's licence policy (a JSON file: the deployment's
 * use, allowed licences, forbidden uses, required acceptance), enforced by one
 * call that run, serve and finetune share, and the acceptance records it reads. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "owl.h"

#define POLICY_CAP (1u << 20)
#define MAX_LIST 64

enum { ACCEPT_NEVER, ACCEPT_NON_OSI, ACCEPT_ALWAYS };

struct owl_policy {
    char path[PATH_MAX];
    owl_use_request use;
    int allow_unknown;
    int acceptance;
    size_t n_allowed, n_forbidden;
    char allowed[MAX_LIST][64];
    char forbidden[MAX_LIST][16]; /* "commercial", "internal", "research", "derivative", "distribute" */
};

static owl_status parse_use_word(const char *path, const char *w, owl_use *u, owl_error *err) {
    if (!strcmp(w, "commercial")) *u = OWL_USE_COMMERCIAL;
    else if (!strcmp(w, "research")) *u = OWL_USE_RESEARCH;
    else if (!strcmp(w, "internal")) *u = OWL_USE_INTERNAL;
    else return owl_fail(err, OWL_ERR_INPUT, "%s: field \"use\": expected commercial, research or internal, found \"%.64s\"", path, w);
    return OWL_OK;
}

static owl_status string_list(const char *path, json_t *root, const char *key, size_t width, char (*out)[64],
                              char (*out16)[16], size_t *n, owl_error *err) {
    json_t *a = json_object_get(root, key);
    *n = 0;
    if (!a) return OWL_OK;
    if (!json_is_array(a)) return owl_fail(err, OWL_ERR_INPUT, "%s: field \"%s\": expected an array of strings", path, key);
    if (json_array_size(a) > MAX_LIST) return owl_fail(err, OWL_ERR_INPUT, "%s: field \"%s\": more than %d entries", path, key, MAX_LIST);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= width)
            return owl_fail(err, OWL_ERR_INPUT, "%s: field \"%s\"[%zu]: expected a string under %zu bytes", path, key, i, width);
        memcpy(out ? out[i] : out16[i], s, strlen(s) + 1);
        (*n)++;
    }
    return OWL_OK;
}

owl_status owl_policy_load(const char *path, owl_policy **out, owl_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return owl_fail(err, OWL_ERR_IO, "%s: cannot open policy file: %s", path, strerror(errno));
    char *buf = malloc(POLICY_CAP + 1);
    size_t n = buf ? fread(buf, 1, POLICY_CAP + 1, f) : 0;
    fclose(f);
    if (!buf) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    if (n > POLICY_CAP) {
        free(buf);
        return owl_fail(err, OWL_ERR_INPUT, "%s: policy file larger than %u bytes", path, POLICY_CAP);
    }
    json_error_t je;
    json_t *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return owl_fail(err, OWL_ERR_INPUT, "%s: line %d column %d: expected a JSON object (%s)", path, root ? 1 : je.line,
                        root ? 1 : je.column, root ? "found another JSON value" : je.text);
    }
    owl_policy *p = calloc(1, sizeof *p);
    owl_status st = OWL_OK;
    if (!p) {
        json_decref(root);
        return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(p->path, sizeof p->path, "%s", path);
    p->use.use = OWL_USE_COMMERCIAL; /* the strictest reading unless the policy says otherwise */
    p->acceptance = ACCEPT_NON_OSI;
    json_t *v;
    if ((v = json_object_get(root, "use"))) {
        if (!json_is_string(v)) st = owl_fail(err, OWL_ERR_INPUT, "%s: field \"use\": expected a string", path);
        else st = parse_use_word(path, json_string_value(v), &p->use.use, err);
    }
    if (!st && (v = json_object_get(root, "monthly_users"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            st = owl_fail(err, OWL_ERR_INPUT, "%s: field \"monthly_users\": expected a whole number >= 0", path);
        else p->use.monthly_users = (uint64_t)json_integer_value(v);
    }
    if (!st && (v = json_object_get(root, "derivative"))) p->use.derivative = json_is_true(v);
    if (!st && (v = json_object_get(root, "distribute"))) p->use.distribute = json_is_true(v);
    if (!st && (v = json_object_get(root, "allow_unknown"))) p->allow_unknown = json_is_true(v);
    if (!st && (v = json_object_get(root, "require_acceptance"))) {
        if (json_is_true(v)) p->acceptance = ACCEPT_ALWAYS;
        else if (json_is_false(v)) p->acceptance = ACCEPT_NEVER;
        else if (json_is_string(v) && !strcmp(json_string_value(v), "non-osi")) p->acceptance = ACCEPT_NON_OSI;
        else st = owl_fail(err, OWL_ERR_INPUT, "%s: field \"require_acceptance\": expected true, false or \"non-osi\"", path);
    }
    if (!st) st = string_list(path, root, "allowed_licenses", 64, p->allowed, NULL, &p->n_allowed, err);
    if (!st) st = string_list(path, root, "forbidden_uses", 16, NULL, p->forbidden, &p->n_forbidden, err);
    for (size_t i = 0; !st && i < p->n_allowed; i++) {
        if (!owl_license_find(p->allowed[i]))
            st = owl_fail(err, OWL_ERR_INPUT, "%s: field \"allowed_licenses\"[%zu]: \"%s\" is not in the catalogue", path, i, p->allowed[i]);
    }
    json_decref(root);
    if (st) {
        free(p);
        return st;
    }
    *out = p;
    return OWL_OK;
}

void owl_policy_free(owl_policy *p) { free(p); }

/* The record's file: SHA-256 of "licence id\nmodel's real path", so one
 * acceptance covers one model under one licence. */
static owl_status record_path(const owl_model *m, const owl_license_terms *t, const char *dir, char *out, size_t cap,
                              owl_error *err) {
    const owl_model_info *info = owl_model_get_info(m);
    if (!info->n_files) return owl_fail(err, OWL_ERR_INPUT, "model has no source files to identify it by");
    char real[PATH_MAX];
    if (!realpath(info->files[0].path, real)) snprintf(real, sizeof real, "%s", info->files[0].path);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, t->id, strlen(t->id)) == 1 &&
             EVP_DigestUpdate(c, "\n", 1) == 1 && EVP_DigestUpdate(c, real, strlen(real)) == 1 &&
             EVP_DigestFinal_ex(c, md, &mdlen) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) return owl_fail(err, OWL_ERR_NOMEM, "sha256: OpenSSL digest failed");
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    int k = snprintf(out, cap, "%s/%s.json", dir, hex);
    if (k < 0 || (size_t)k >= cap) return owl_fail(err, OWL_ERR_USAGE, "%s: acceptance directory path too long", dir);
    return OWL_OK;
}

static owl_status mkdirs(const char *dir, owl_error *err) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return owl_fail(err, OWL_ERR_USAGE, "%s: path too long", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0700) && errno != EEXIST) return owl_fail(err, OWL_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0700) && errno != EEXIST) return owl_fail(err, OWL_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
    return OWL_OK;
}

owl_status owl_license_accept(const owl_model *m, const char *accept_dir, owl_error *err) {
    owl_license_detection d;
    owl_status st = owl_license_detect(m, &d, err);
    if (st) return st;
    if (!d.terms) return owl_fail(err, OWL_ERR_INPUT, "the model's licence is unknown: there is nothing to accept");
    char path[PATH_MAX];
    if ((st = mkdirs(accept_dir, err)) || (st = record_path(m, d.terms, accept_dir, path, sizeof path, err))) return st;
    const owl_model_info *info = owl_model_get_info(m);
    char real[PATH_MAX];
    if (!realpath(info->files[0].path, real)) snprintf(real, sizeof real, "%s", info->files[0].path);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(real));
    json_object_set_new(o, "license", json_string(d.terms->id));
    json_object_set_new(o, "terms", json_string(d.terms->source ? d.terms->source : ""));
    json_object_set_new(o, "accepted_at", json_integer((json_int_t)time(NULL)));
    const char *user = getenv("USER");
    json_object_set_new(o, "user", json_string(user ? user : ""));
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    if (!text) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    st = owl_atomic_write_file(path, text, strlen(text), "\n", 1, err);
    free(text);
    return st;
}

static int use_forbidden(const owl_policy *p, const char *word) {
    for (size_t i = 0; i < p->n_forbidden; i++)
        if (!strcmp(p->forbidden[i], word)) return 1;
    return 0;
}

owl_status owl_policy_enforce(const owl_policy *p, const owl_model *m, const char *accept_dir, int accept_now,
                              owl_error *err) {
    owl_license_detection d;
    owl_status st = owl_license_detect(m, &d, err);
    if (st) return st;
    const owl_license_terms *t = d.terms;
    static const char *const use_words[] = {"", "research", "internal", "commercial"};
    const char *uw = use_words[p->use.use];
    if (use_forbidden(p, uw) || (p->use.derivative && use_forbidden(p, "derivative")) ||
        (p->use.distribute && use_forbidden(p, "distribute")))
        return owl_fail(err, OWL_ERR_DENIED, "policy %s: this deployment's use (%s) is forbidden by the policy itself", p->path, uw);
    if (!t && !p->allow_unknown)
        return owl_fail(err, OWL_ERR_DENIED, "policy %s refuses this model: its licence is unknown (owl license MODEL shows the evidence)", p->path);
    if (t && p->n_allowed) {
        size_t i = 0;
        while (i < p->n_allowed && owl_license_find(p->allowed[i]) != t) i++;
        if (i == p->n_allowed)
            return owl_fail(err, OWL_ERR_DENIED, "policy %s refuses this model: licence %s is not among the allowed licences", p->path, t->id);
    }
    if (t) {
        char reasons[2048];
        if (owl_license_check(t, &p->use, reasons, sizeof reasons, NULL, 0) == OWL_LICENSE_DENIED) {
            size_t n = strlen(reasons);
            while (n && reasons[n - 1] == '\n') reasons[--n] = 0;
            for (char *s = reasons; *s; s++) if (*s == '\n') *s = ';';
            return owl_fail(err, OWL_ERR_DENIED, "policy %s refuses this model for %s use: %s", p->path, uw, reasons);
        }
    }
    if (d.conflict)
        return owl_fail(err, OWL_ERR_DENIED, "policy %s refuses this model: its sources name different licences (owl license MODEL shows them)", p->path);
    int need = t && (p->acceptance == ACCEPT_ALWAYS || (p->acceptance == ACCEPT_NON_OSI && !t->osi_approved));
    if (!need) return OWL_OK;
    if (accept_now) return owl_license_accept(m, accept_dir, err);
    char path[PATH_MAX];
    if ((st = record_path(m, t, accept_dir, path, sizeof path, err))) return st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return OWL_OK;
    return owl_fail(err, OWL_ERR_DENIED,
                    "policy %s: the %s terms (%s) must be accepted first: run `owl license accept MODEL` or pass --accept-license",
                    p->path, t->name ? t->name : t->id, t->source ? t->source : "");
}
