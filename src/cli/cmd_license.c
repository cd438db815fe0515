/* cmd_license.c: `owl license`: a model's licence, how it was found, its
 * terms and duties in plain words; `owl license check` decides an intended use. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl license MODEL [--json]\n"
    "       owl license check MODEL --use commercial|research|internal [--users N]\n"
    "                         [--derivative] [--distribute] [--json]\n"
    "       owl license accept MODEL [--json]\n"
    "\n"
    "Shows the licence a model declares (GGUF general.license*, model card\n"
    "front matter license/license_name/license_link, a LICENSE file beside a\n"
    "model directory), the evidence and confidence for it, any conflict between\n"
    "sources, and its terms: commercial use, monthly-active-user threshold,\n"
    "attribution and naming duties, acceptable-use policy, redistribution,\n"
    "training on outputs, field-of-use limits. A summary, not legal advice.\n"
    "\n"
    "check decides a use: --users N monthly active users of the service,\n"
    "--derivative (fine-tune, merge, or train on outputs), --distribute (ship\n"
    "weights or derivatives).\n"
    "\n"
    "accept records that you accept the model's licence terms (in\n"
    "$OWL_ACCEPT_DIR, default ~/.config/owl/accepted), as a policy file given to\n"
    "owl run --policy F (or $OWL_POLICY) may require.\n"
    "\n"
    "exit status (check): 0 allowed, 1 denied (reasons printed), 2 unknown\n"
    "licence; otherwise 0 ok, 1 bad input, 2 bad usage, 3 I/O error\n";

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *terms_json(const owl_license_terms *t) {
    if (!t) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "name", jstr(t->name));
    json_object_set_new(o, "source", jstr(t->source));
    json_object_set_new(o, "osi_approved", json_boolean(t->osi_approved));
    json_object_set_new(o, "commercial", json_boolean(t->commercial));
    json_object_set_new(o, "mau_limit", t->mau_limit ? json_integer((json_int_t)t->mau_limit) : json_null());
    json_object_set_new(o, "attribution", jstr(t->attribution));
    json_object_set_new(o, "name_prefix", jstr(t->name_prefix));
    json_object_set_new(o, "acceptable_use_policy", jstr(t->aup));
    json_object_set_new(o, "redistribution", jstr(t->redistribution));
    json_object_set_new(o, "outputs_train_models", jstr(t->outputs_train_models));
    json_object_set_new(o, "field_of_use", jstr(t->field_of_use));
    return o;
}

static json_t *detection_json(const owl_license_detection *d) {
    json_t *o = json_object(), *ev = json_array();
    json_object_set_new(o, "license", d->terms ? json_string(d->terms->id) : json_null());
    json_object_set_new(o, "confidence", json_real(d->confidence));
    json_object_set_new(o, "conflict", json_boolean(d->conflict));
    for (size_t i = 0; i < d->n_evidence; i++) {
        const owl_license_evidence *e = &d->evidence[i];
        json_t *x = json_object();
        json_object_set_new(x, "where", jstr(e->where));
        json_object_set_new(x, "field", jstr(e->field));
        json_object_set_new(x, "value", jstr(e->value));
        json_object_set_new(x, "license", e->terms ? json_string(e->terms->id) : json_null());
        json_object_set_new(x, "confidence", json_real(e->confidence));
        json_array_append_new(ev, x);
    }
    json_object_set_new(o, "evidence", ev);
    json_object_set_new(o, "terms", terms_json(d->terms));
    return o;
}

static void print_lines(const char *label, const char *text) {
    if (!text || !*text) return;
    printf("%s:\n", label);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        printf("  - %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
}

static void print_detection(const owl_license_detection *d) {
    const owl_license_terms *t = d->terms;
    printf("licence:        %s%s\n", t ? t->name : "unknown", d->conflict ? "  (CONFLICT between sources)" : "");
    if (t) printf("id:             %s  (confidence %.2f)\nterms from:     %s\n", t->id, d->confidence, t->source);
    for (size_t i = 0; i < d->n_evidence; i++) {
        const owl_license_evidence *e = &d->evidence[i];
        printf("evidence:       %s %s%s%s%s -> %s (%.2f)\n", e->where ? e->where : "?", e->field, e->value ? " = \"" : "",
               e->value ? e->value : "", e->value ? "\"" : "", e->terms ? e->terms->id : "unrecognised", e->confidence);
    }
    if (!d->n_evidence) printf("evidence:       none (no licence fields, no LICENSE file)\n");
    if (!t) return;
    printf("commercial use: %s\n", t->commercial ? "allowed" : "not allowed");
    if (t->mau_limit) printf("user threshold: above %llu monthly active users a separate licence is needed\n",
                             (unsigned long long)t->mau_limit);
    if (t->attribution) printf("attribution:    %s\n", t->attribution);
    if (t->name_prefix) printf("naming:         derivative model names must begin with \"%s\"\n", t->name_prefix);
    if (t->aup) printf("use policy:     %s\n", t->aup);
    if (t->redistribution) printf("redistribution: %s\n", t->redistribution);
    if (t->outputs_train_models) printf("train on outputs: %s\n", t->outputs_train_models);
    if (t->field_of_use) printf("field of use:   %s\n", t->field_of_use);
}

static int detect(const char *path, owl_license_detection *d) {
    owl_error err = {0};
    owl_model *m = NULL;
    if (owl_model_open(path, &m, &err)) return cli_report_error(&err);
    owl_status st = owl_license_detect(m, d, &err);
    /* evidence strings point into the model; copy what is printed before closing */
    if (st) {
        owl_model_close(m);
        return cli_report_error(&err);
    }
    static char values[OWL_LICENSE_MAX_EVIDENCE][512], wheres[OWL_LICENSE_MAX_EVIDENCE][512];
    for (size_t i = 0; i < d->n_evidence; i++) {
        owl_license_evidence *e = &d->evidence[i];
        if (e->value) snprintf(values[i], sizeof values[i], "%s", e->value), e->value = values[i];
        if (e->where) snprintf(wheres[i], sizeof wheres[i], "%s", e->where), e->where = wheres[i];
    }
    owl_model_close(m);
    return EXIT_OK;
}

static int parse_use(const char *s, owl_use *u) {
    if (!strcmp(s, "commercial")) *u = OWL_USE_COMMERCIAL;
    else if (!strcmp(s, "research")) *u = OWL_USE_RESEARCH;
    else if (!strcmp(s, "internal")) *u = OWL_USE_INTERNAL;
    else return -1;
    return 0;
}

int cmd_license(int argc, char **argv) {
    int json = 0, check = 0, have_use = 0, accept = 0;
    const char *model = NULL;
    owl_use_request r = {OWL_USE_RESEARCH, 0, 0, 0};
    int i = 1;
    if (argc > 1 && !strcmp(argv[1], "check")) check = 1, i = 2;
    else if (argc > 1 && !strcmp(argv[1], "accept")) accept = 1, i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) json = 1;
        else if (check && !strcmp(a, "--use") && has) {
            if (parse_use(argv[++i], &r.use)) return cli_usage_error("license", "--use takes commercial, research or internal, not '%s'", argv[i]);
            have_use = 1;
        } else if (check && !strcmp(a, "--users") && has) {
            char *end;
            errno = 0;
            const char *v = argv[++i];
            unsigned long long n = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-') return cli_usage_error("license", "--users takes a whole number, not '%s'", v);
            r.monthly_users = n;
        } else if (check && !strcmp(a, "--derivative")) r.derivative = 1;
        else if (check && !strcmp(a, "--distribute")) r.distribute = 1;
        else if (a[0] == '-' || model) return cli_usage_error("license", "unknown option or missing value: %s", a);
        else model = a;
    }
    if (!model) return cli_usage_error("license", "a MODEL is required");
    if (check && !have_use) return cli_usage_error("license", "check needs --use commercial|research|internal");
    if (accept) {
        owl_error err = {0};
        owl_model *m = NULL;
        char dir[4096];
        owl_license_detection d;
        if (owl_model_open(model, &m, &err) || owl_license_detect(m, &d, &err) ||
            owl_license_accept(m, cli_accept_dir(dir, sizeof dir), &err)) {
            owl_model_close(m);
            return cli_report_error(&err);
        }
        if (json) {
            json_t *o = json_pack("{s:b, s:s, s:s}", "accepted", 1, "license", d.terms->id, "records", dir);
            json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(o);
        } else printf("accepted: %s under %s (%s); recorded in %s\n", model, d.terms->name, d.terms->source, dir);
        owl_model_close(m);
        return EXIT_OK;
    }
    owl_license_detection d;
    int rc = detect(model, &d);
    if (rc) return rc;
    if (!check) {
        if (json) {
            json_t *o = detection_json(&d);
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(o);
        } else print_detection(&d);
        return EXIT_OK;
    }
    char reasons[4096], duties[4096];
    int verdict = owl_license_check(d.terms, &r, reasons, sizeof reasons, duties, sizeof duties);
    if (d.conflict && verdict == OWL_LICENSE_ALLOWED)
        strncat(duties, "sources name different licences: the decision follows the most confident one; resolve the conflict\n",
                sizeof duties - strlen(duties) - 1);
    static const char *const words[] = {"allowed", "denied", "unknown"};
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "decision", json_string(words[verdict]));
        json_object_set_new(o, "reasons", json_string(reasons));
        json_object_set_new(o, "duties", json_string(duties));
        json_object_set_new(o, "detection", detection_json(&d));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else {
        printf("%s: %s under %s\n", words[verdict], model, d.terms ? d.terms->id : "an unknown licence");
        print_lines("reasons", reasons);
        print_lines("duties", duties);
    }
    return verdict;
}
