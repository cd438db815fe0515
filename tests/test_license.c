/* test_license.c: the licence catalogue, detection over a table of model-card
 * and GGUF-metadata variants (missing, placeholder and conflicting fields,
 * LICENSE texts), and use decisions table-tested against the terms. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "testfiles.h"
#include "owl.h"

static void test_catalogue_complete(void) {
    static const char *const ids[] = {"Apache-2.0", "MIT", "BSD-3-Clause", "CC-BY-4.0", "CC-BY-NC-4.0", "OpenRAIL-M",
                                      "BigScience-RAIL-1.0", "Llama-2", "Llama-3", "Llama-3.1", "Llama-3.2",
                                      "Llama-3.3", "Llama-4", "Gemma", "Qwen", "Qwen-Research", "DeepSeek", "MRL",
                                      "MNPL", "Falcon", "CC-BY-NC-4.0+Cohere-AUP"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const owl_license_terms *t = owl_license_find(ids[i]);
        CHECK(t && strcmp(t->id, ids[i]) == 0, "%s missing", ids[i]);
        if (t) CHECK(t->source && strncmp(t->source, "https://", 8) == 0, "%s cites no source", ids[i]);
    }
    size_t n = 0;
    while (owl_license_get(n)) n++;
    CHECK(n == sizeof ids / sizeof ids[0], "catalogue has %zu entries", n);
    const owl_license_terms *l3 = owl_license_find("llama3");
    CHECK(l3 && l3->mau_limit == 700000000ull && l3->name_prefix && l3->aup);
}

typedef struct detect_case {
    const char *what;
    const char *license, *name, *link, *text;
    const char *want; /* NULL: unknown */
    int conflict;
} detect_case;

static const detect_case detect_cases[] = {
    {"hf apache", "apache-2.0", NULL, NULL, NULL, "Apache-2.0", 0},
    {"gguf Apache spelled out", "Apache License 2.0", NULL, NULL, NULL, "Apache-2.0", 0},
    {"hf mit", "mit", NULL, NULL, NULL, "MIT", 0},
    {"gguf MIT upper", "MIT", NULL, NULL, NULL, "MIT", 0},
    {"hf bsd", "bsd-3-clause", NULL, NULL, NULL, "BSD-3-Clause", 0},
    {"hf cc-by", "cc-by-4.0", NULL, NULL, NULL, "CC-BY-4.0", 0},
    {"hf cc-by-nc", "cc-by-nc-4.0", NULL, NULL, NULL, "CC-BY-NC-4.0", 0},
    {"hf openrail", "openrail", NULL, NULL, NULL, "OpenRAIL-M", 0},
    {"hf bloom rail", "bigscience-bloom-rail-1.0", NULL, NULL, NULL, "BigScience-RAIL-1.0", 0},
    {"hf llama2", "llama2", NULL, NULL, NULL, "Llama-2", 0},
    {"hf llama3", "llama3", NULL, NULL, NULL, "Llama-3", 0},
    {"hf llama3.1", "llama3.1", NULL, NULL, NULL, "Llama-3.1", 0},
    {"gguf llama 3.2 spaced", "Llama 3.2", NULL, NULL, NULL, "Llama-3.2", 0},
    {"hf llama3.3", "llama3.3", NULL, NULL, NULL, "Llama-3.3", 0},
    {"hf llama4", "llama4", NULL, NULL, NULL, "Llama-4", 0},
    {"hf gemma", "gemma", NULL, NULL, NULL, "Gemma", 0},
    {"hf other + qwen name", "other", "qwen", NULL, NULL, "Qwen", 0},
    {"hf other + qwen-research", "other", "qwen-research", NULL, NULL, "Qwen-Research", 0},
    {"hf other + deepseek", "other", "deepseek", NULL, NULL, "DeepSeek", 0},
    {"hf other + mrl", "other", "mrl", "https://mistral.ai/licenses/MRL-0.1.md", NULL, "MRL", 0},
    {"link only: mnpl", NULL, NULL, "https://mistral.ai/licenses/MNPL-0.1.md", NULL, "MNPL", 0},
    {"gguf falcon", "falcon", NULL, NULL, NULL, "Falcon", 0},
    {"hf cohere refines cc-by-nc", "cc-by-nc-4.0", "cohere", NULL, NULL, "CC-BY-NC-4.0+Cohere-AUP", 0},
    {"link llama3.1", "other", NULL, "https://www.llama.com/llama3_1/license/", NULL, "Llama-3.1", 0},
    {"nothing at all", NULL, NULL, NULL, NULL, NULL, 0},
    {"only 'other'", "other", NULL, NULL, NULL, NULL, 0},
    {"unrecognised name", "my-company-licence", NULL, NULL, NULL, NULL, 0},
    {"empty strings", "", "", "", NULL, NULL, 0},
    {"conflict: field vs link", "apache-2.0", NULL, "https://www.llama.com/llama3_1/license/", NULL, "Apache-2.0", 1},
    {"conflict: field vs text", "mit", NULL, NULL,
     "                 Apache License\n           Version 2.0, January 2004\n ... Grant of Patent License ...",
     "MIT", 1},
    {"text only: MIT", NULL, NULL, NULL,
     "Copyright (c) 2024 X\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software",
     "MIT", 0},
    {"text only: llama 3.1", NULL, NULL, NULL, "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024",
     "Llama-3.1", 0},
    {"text agrees with field", "gemma", NULL, NULL, "Gemma Terms of Use\n...", "Gemma", 0},
    {"text unrecognised", NULL, NULL, NULL, "All rights reserved.", NULL, 0},
};

static void test_detection_table(void) {
    for (size_t i = 0; i < sizeof detect_cases / sizeof detect_cases[0]; i++) {
        const detect_case *c = &detect_cases[i];
        owl_license_sources s = {"README.md", strncmp(c->what, "gguf", 4) == 0, c->license, c->name, c->link, "LICENSE", c->text,
                                 c->text ? strlen(c->text) : 0};
        owl_license_detection d;
        owl_license_detect_sources(&s, &d);
        const char *got = d.terms ? d.terms->id : NULL;
        CHECK((got == NULL) == (c->want == NULL) && (!got || strcmp(got, c->want) == 0), "%s: got %s, want %s",
              c->what, got ? got : "(unknown)", c->want ? c->want : "(unknown)");
        CHECK(d.conflict == c->conflict, "%s: conflict %d", c->what, d.conflict);
        CHECK(!d.terms || (d.confidence > 0 && d.confidence <= 1), "%s: confidence %g", c->what, d.confidence);
        size_t declared = (c->license && *c->license && strcmp(c->license, "other")) + (c->name && *c->name) +
                          (c->link && *c->link) + (c->text != NULL);
        CHECK(d.n_evidence == declared, "%s: %zu evidence for %zu sources", c->what, d.n_evidence, declared);
    }
    CHECK(sizeof detect_cases / sizeof detect_cases[0] >= 25);
}

static void test_detection_hostile(void) {
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(owl_license_find(big) == NULL);
    CHECK(owl_license_find("") == NULL && owl_license_find(NULL) == NULL && owl_license_find("  - _ ") == NULL);
    char text[64] = "MIT\0License\0Permission is hereby granted";
    owl_license_sources s = {NULL, 0, NULL, NULL, NULL, NULL, text, sizeof text};
    owl_license_detection d;
    owl_license_detect_sources(&s, &d); /* embedded NULs: no crash, no read past the end */
    CHECK(d.n_evidence == 1);
}

typedef struct check_case {
    const char *what, *license;
    owl_use use;
    uint64_t users;
    int derivative, distribute;
    int want;
    const char *reason_has, *duty_has;
} check_case;

static const check_case check_cases[] = {
    {"llama3 800M users", "llama3", OWL_USE_COMMERCIAL, 800000000, 0, 0, OWL_LICENSE_DENIED, "700000000 monthly", NULL},
    {"llama3 1M users", "llama3", OWL_USE_COMMERCIAL, 1000000, 0, 0, OWL_LICENSE_ALLOWED, NULL, "use-policy"},
    {"llama3 derivative", "llama3", OWL_USE_COMMERCIAL, 0, 1, 1, OWL_LICENSE_ALLOWED, NULL, "\"Llama 3\""},
    {"llama3.1 derivative", "llama3.1", OWL_USE_COMMERCIAL, 0, 1, 0, OWL_LICENSE_ALLOWED, NULL, "Built with Llama"},
    {"cc-by-nc commercial", "cc-by-nc-4.0", OWL_USE_COMMERCIAL, 0, 0, 0, OWL_LICENSE_DENIED, "commercial", NULL},
    {"cc-by-nc research", "cc-by-nc-4.0", OWL_USE_RESEARCH, 0, 0, 0, OWL_LICENSE_ALLOWED, NULL, NULL},
    {"cc-by-nc internal", "cc-by-nc-4.0", OWL_USE_INTERNAL, 0, 0, 0, OWL_LICENSE_DENIED, "non-commercial", NULL},
    {"apache commercial", "apache-2.0", OWL_USE_COMMERCIAL, 5000000000ull, 1, 1, OWL_LICENSE_ALLOWED, NULL, "NOTICE"},
    {"mit commercial", "mit", OWL_USE_COMMERCIAL, 0, 0, 0, OWL_LICENSE_ALLOWED, NULL, NULL},
    {"gemma commercial", "gemma", OWL_USE_COMMERCIAL, 0, 1, 1, OWL_LICENSE_ALLOWED, NULL, "Gemma Terms of Use"},
    {"gemma prohibited use listed", "gemma", OWL_USE_COMMERCIAL, 0, 0, 0, OWL_LICENSE_ALLOWED, NULL, "prohibited_use_policy"},
    {"qwen research commercial", "qwen-research", OWL_USE_COMMERCIAL, 0, 0, 0, OWL_LICENSE_DENIED, "commercial", NULL},
    {"qwen 200M users", "qwen", OWL_USE_COMMERCIAL, 200000000, 0, 0, OWL_LICENSE_DENIED, "monthly", NULL},
    {"mnpl commercial", "mnpl", OWL_USE_COMMERCIAL, 0, 0, 0, OWL_LICENSE_DENIED, "commercial", NULL},
    {"mrl research", "mrl", OWL_USE_RESEARCH, 0, 0, 0, OWL_LICENSE_ALLOWED, NULL, NULL},
    {"unknown", NULL, OWL_USE_RESEARCH, 0, 0, 0, OWL_LICENSE_UNKNOWN, "unknown", NULL},
};

static void test_check_table(void) {
    for (size_t i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
        const check_case *c = &check_cases[i];
        const owl_license_terms *t = c->license ? owl_license_find(c->license) : NULL;
        CHECK(!c->license || t, "%s: no entry", c->what);
        owl_use_request r = {c->use, c->users, c->derivative, c->distribute};
        char reasons[2048], duties[2048];
        int got = owl_license_check(t, &r, reasons, sizeof reasons, duties, sizeof duties);
        CHECK(got == c->want, "%s: got %d want %d (%s)", c->what, got, c->want, reasons);
        if (c->reason_has) CHECK(strstr(reasons, c->reason_has), "%s: reasons '%s'", c->what, reasons);
        if (c->duty_has) CHECK(strstr(duties, c->duty_has), "%s: duties '%s'", c->what, duties);
    }
    /* tiny buffers are cut, never overrun */
    char small[8];
    owl_use_request r = {OWL_USE_COMMERCIAL, 900000000, 0, 0};
    CHECK(owl_license_check(owl_license_find("llama3"), &r, small, sizeof small, NULL, 0) == OWL_LICENSE_DENIED);
    CHECK(strlen(small) < sizeof small);
}

/* Model directories the test writes: config.json from stories260K, a model
 * card's front matter in the shapes found on the Hub, and LICENSE files. */
static char *read_whole(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct dir_case {
    const char *what, *readme, *license_file, *want;
    int conflict;
    size_t n_evidence;
} dir_case;

static const dir_case dir_cases[] = {
    {"plain", "---\nlicense: apache-2.0\n---\n# m\n", NULL, "Apache-2.0", 0, 1},
    {"quoted", "---\nlicense: \"llama3.2\"\n---\n", NULL, "Llama-3.2", 0, 1},
    {"list", "---\nlicense:\n- gemma\n---\n", NULL, "Gemma", 0, 1},
    {"other+name+link", "---\nlicense: other\nlicense_name: qwen-research\nlicense_link: https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE\n---\n", NULL, "Qwen-Research", 0, 2},
    {"no front matter", "# just a title\nlicense: mit\n", NULL, NULL, 0, 0},
    {"no license key", "---\ntags: [a]\n---\n", NULL, NULL, 0, 0},
    {"LICENSE only", NULL, "Permission is hereby granted, free of charge, to any person obtaining a copy\n", "MIT", 0, 1},
    {"card and LICENSE agree", "---\nlicense: llama3.3\n---\n", "LLAMA 3.3 COMMUNITY LICENSE AGREEMENT\n", "Llama-3.3", 0, 2},
    {"card and LICENSE conflict", "---\nlicense: apache-2.0\n---\n", "Attribution-NonCommercial 4.0 International Public License\n", "Apache-2.0", 1, 2},
    {"unrecognised everything", "---\nlicense: proprietary-xyz\n---\n", "All rights reserved.\n", NULL, 0, 2},
};

static void test_detection_model_dirs(void) {
    tmpdir_create("license");
    size_t cfg_len = 0;
    char *cfg = read_whole(shared_path("models/stories260K/hf/config.json"), &cfg_len);
    CHECK(cfg != NULL);
    for (size_t i = 0; cfg && i < sizeof dir_cases / sizeof dir_cases[0]; i++) {
        const dir_case *c = &dir_cases[i];
        char dir[32];
        snprintf(dir, sizeof dir, "m%zu", i);
        mkdir(tmp_path(dir), 0700);
        char rel[64];
        snprintf(rel, sizeof rel, "%s/config.json", dir);
        write_text(rel, cfg);
        if (c->readme) snprintf(rel, sizeof rel, "%s/README.md", dir), write_text(rel, c->readme);
        if (c->license_file) snprintf(rel, sizeof rel, "%s/LICENSE", dir), write_text(rel, c->license_file);
        owl_model *m = open_ok(tmp_path(dir));
        if (!m) continue;
        owl_license_detection d;
        owl_error err = {0};
        CHECK(owl_license_detect(m, &d, &err) == OWL_OK, "%s: %s", c->what, err.message);
        const char *got = d.terms ? d.terms->id : NULL;
        CHECK((got == NULL) == (c->want == NULL) && (!got || strcmp(got, c->want) == 0), "%s: got %s", c->what,
              got ? got : "(unknown)");
        CHECK(d.conflict == c->conflict, "%s: conflict %d", c->what, d.conflict);
        CHECK(d.n_evidence == c->n_evidence, "%s: %zu evidence", c->what, d.n_evidence);
        owl_model_close(m);
    }
    free(cfg);
    tmpdir_remove();
}

int main(void) {
    RUN(test_catalogue_complete);
    RUN(test_detection_table);
    RUN(test_detection_hostile);
    RUN(test_check_table);
    RUN(test_detection_model_dirs);
    DONE("test_license");
}
