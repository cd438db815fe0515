/* openness.c: a model's openness after the OSI Open Source AI Definition 1.0:
 * open-source AI (weights under OSI-approved terms, training data and code
 * declared), open-weight, or restricted weights, with the evidence used. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "owl.h"

#define README_CAP (1u << 20)

static void note(owl_openness *o, const char *fmt, ...) OWL_PRINTF(2, 3);
static void note(owl_openness *o, const char *fmt, ...) {
    size_t n = strnlen(o->evidence, sizeof o->evidence);
    if (n + 1 >= sizeof o->evidence) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->evidence + n, sizeof o->evidence - n, fmt, ap);
    va_end(ap);
}

/* A link to a code repository in the model card stands for declared training
 * code (the OSAID asks for the code used to train and run the model). */
static int card_links_code(const owl_model_info *info) {
    if (!info->n_files || info->format != OWL_FORMAT_HF_DIR) return 0;
    const char *first = info->files[0].path, *slash = strrchr(first, '/');
    char path[4096];
    int k = snprintf(path, sizeof path, "%.*s/README.md", slash ? (int)(slash - first) : 1, slash ? first : ".");
    if (k < 0 || (size_t)k >= sizeof path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *buf = malloc(README_CAP + 1);
    size_t n = buf ? fread(buf, 1, README_CAP, f) : 0;
    fclose(f);
    if (!buf) return 0;
    buf[n] = 0;
    for (size_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
    int found = strstr(buf, "github.com/") || strstr(buf, "gitlab.com/") || strstr(buf, "codeberg.org/");
    free(buf);
    return found;
}

owl_status owl_openness_assess(const owl_model *m, owl_openness *o, owl_error *err) {
    memset(o, 0, sizeof *o);
    owl_license_detection d;
    owl_status st = owl_license_detect(m, &d, err);
    if (st) return st;
    const owl_model_info *info = owl_model_get_info(m);
    const owl_license_terms *t = d.terms;
    int open_terms = t && (t->osi_approved || !strcmp(t->id, "CC-BY-4.0"));
    int data = info->license.n_datasets > 0, code = card_links_code(info);
    if (!t) note(o, "weights licence unknown; ");
    else note(o, "weights licence %s (%s%s); ", t->id, open_terms ? "open terms" : t->commercial ? "use restrictions" : "non-commercial or research only",
              d.conflict ? ", sources conflict" : "");
    if (data) note(o, "%zu dataset(s) declared (first: %s); ", info->license.n_datasets, info->license.datasets[0]);
    else note(o, "no training datasets declared; ");
    note(o, code ? "code repository linked in the model card" : "no training code linked");
    if (!t) o->cls = "unknown";
    else if (open_terms && data && code && !d.conflict) o->cls = "open-source-ai";
    else if (open_terms || t->commercial) o->cls = "open-weight";
    else o->cls = "restricted-weights";
    return OWL_OK;
}
