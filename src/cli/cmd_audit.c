/* cmd_audit.c: `owl audit verify LOG`: checks an audit log's hash chain and
 * names the first bad line; `owl audit append LOG JSON` adds an event;
 * `owl audit query LOG [filters]` prints the events of an intact chain. */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl audit verify LOG [--json]\n"
    "       owl audit append LOG EVENT_JSON [--json]\n"
    "       owl audit query LOG [--since T] [--until T] [--model NAME] [--key ID]\n"
    "                           [--status N] [--json] [--no-verify]\n"
    "\n"
    "verify checks every line of an audit log (written by owl run or owl serve\n"
    "--audit-log): its sequence number and the SHA-256 of the line before. An\n"
    "edited, deleted, inserted or moved line breaks the chain; the first bad line\n"
    "is named.\n"
    "append adds one event object as a chained line (one write under a lock).\n"
    "query verifies the chain first (refusing a broken one, naming its first bad\n"
    "line, unless --no-verify), then prints the events that match every filter:\n"
    "a table, or the lines themselves with --json.\n"
    "  --since T, --until T   events at or after / at or before T: UNIX seconds, or\n"
    "                         ISO 8601 (2025-06-01, 2025-06-01T12:00[:00[.000]][Z|+02:00];\n"
    "                         no zone is UTC)\n"
    "  --model NAME           the model name requested, or its digest (sha256:...)\n"
    "  --key ID               the API key id (never the key itself)\n"
    "  --status N             the HTTP status: 200, 401, ...; or a class: 2xx, 4xx, 5xx\n"
    "\n"
    "exit status: 0 intact (query: also when nothing matched), 1 broken chain or bad\n"
    "input, 2 bad usage, 3 I/O error\n";

#define LINE_CAP OWL_AUDIT_LINE_CAP

/* n decimal digits at p into *v; 0 if any is not a digit. */
static int digits(const char *p, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return 0;
        *v = *v * 10 + (p[i] - '0');
    }
    return 1;
}

/* T as seconds since the epoch: UNIX seconds, or ISO 8601 date[Thh:mm[:ss[.f]]][Z|+hh[:mm]|-hh[:mm]]. */
static int parse_time(const char *s, double *out) {
    const char *p = s;
    while (isdigit((unsigned char)*p)) p++;
    if (p > s && (!*p || (*p == '.' && isdigit((unsigned char)p[1])))) { /* UNIX seconds */
        char *end;
        double v = strtod(s, &end);
        if (*end) return 0;
        *out = v;
        return 1;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d)) return 0;
    p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi)) return 0;
        p += 6;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec)) return 0;
            p += 3;
            if (*p == '.' || *p == ',') {
                double scale = 0.1;
                if (!isdigit((unsigned char)*++p)) return 0;
                for (; isdigit((unsigned char)*p); p++, scale /= 10) frac += (*p - '0') * scale;
            }
        }
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0, sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh)) return 0;
        p += 3;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p)) {
            if (!digits(p, 2, &om)) return 0;
            p += 2;
        }
        if (oh > 23 || om > 59) return 0;
        off = sign * (oh * 3600L + om * 60L);
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    struct tm tmv = {0};
    tmv.tm_year = y - 1900, tmv.tm_mon = mo - 1, tmv.tm_mday = d;
    tmv.tm_hour = h, tmv.tm_min = mi, tmv.tm_sec = sec;
    time_t t = timegm(&tmv);
    if (tmv.tm_mday != d && sec != 60) return 0; /* 2025-02-30, normalised into March */
    *out = (double)t - (double)off + frac;
    return 1;
}

typedef struct query {
    int has_since, has_until;
    double since, until;
    const char *model, *key;
    int status, status_class; /* status 0: any; status_class 1..5 for Nxx */
} query;

static int matches(const query *q, json_t *o) {
    if (q->has_since || q->has_until) {
        double t;
        const char *w = json_string_value(json_object_get(o, "time"));
        if (!w || !parse_time(w, &t)) return 0;
        if (q->has_since && t < q->since) return 0;
        if (q->has_until && t > q->until) return 0;
    }
    if (q->model) {
        const char *field = strncmp(q->model, "sha256:", 7) ? "model" : "model_digest";
        const char *v = json_string_value(json_object_get(o, field));
        if (!v || strcmp(v, q->model)) return 0;
    }
    if (q->key) {
        const char *v = json_string_value(json_object_get(o, "key_id"));
        if (!v || strcmp(v, q->key)) return 0;
    }
    if (q->status || q->status_class) {
        json_t *v = json_object_get(o, "status");
        if (!json_is_integer(v)) return 0;
        json_int_t c = json_integer_value(v);
        if (q->status && c != q->status) return 0;
        if (q->status_class && c / 100 != q->status_class) return 0;
    }
    return 1;
}

/* A field for the table: '-' when absent, cut to w columns, control bytes shown as '?'. */
static void cell(char *out, size_t w, json_t *v) {
    char tmp[64];
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (json_is_integer(v)) snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), s = tmp;
    if (!s || !*s) s = "-";
    size_t n = 0;
    for (; s[n] && n < w; n++) out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    if (s[n] && n >= 2) out[n - 1] = '~'; /* cut */
    out[n] = 0;
}

static void print_row(json_t *o) {
    char seq[16], when[32], status[8], key[21], model[21], route[25], req[25];
    cell(seq, 8, json_object_get(o, "seq"));
    cell(when, 24, json_object_get(o, "time"));
    cell(status, 6, json_object_get(o, "status"));
    cell(key, 20, json_object_get(o, "key_id"));
    cell(model, 20, json_object_get(o, "model"));
    json_t *r = json_object_get(o, "route");
    cell(route, 24, r ? r : json_object_get(o, "verb"));
    cell(req, 24, json_object_get(o, "request_id"));
    json_t *pt = json_object_get(o, "prompt_tokens"), *ct = json_object_get(o, "completion_tokens");
    if (!pt) pt = json_object_get(o, "n_prompt"), ct = json_object_get(o, "n_output"); /* owl run's lines */
    char tokens[48] = "-";
    if (json_is_integer(pt))
        snprintf(tokens, sizeof tokens, "%" JSON_INTEGER_FORMAT "+%s", json_integer_value(pt), json_is_integer(ct) ? "" : "-");
    if (json_is_integer(pt) && json_is_integer(ct))
        snprintf(tokens + strlen(tokens), sizeof tokens - strlen(tokens), "%" JSON_INTEGER_FORMAT, json_integer_value(ct));
    json_t *d = json_object_get(o, "duration_ms");
    char ms[24] = "-";
    if (json_is_number(d)) snprintf(ms, sizeof ms, "%.1f", json_number_value(d));
    printf("%-8s %-24s %-6s %-20s %-20s %-24s %-11s %9s  %s\n", seq, when, status, key, model, route, tokens, ms, req);
}

static int cmd_audit_query(int argc, char **argv) {
    query q = {0};
    int json = 0, verify = 1;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--no-verify")) verify = 0;
        else if ((!strcmp(a, "--since") || !strcmp(a, "--until")) && has) {
            int since = !strcmp(a, "--since");
            if (!parse_time(argv[++i], since ? &q.since : &q.until))
                return cli_usage_error("audit", "%s takes UNIX seconds or an ISO 8601 time, not '%s'", a, argv[i]);
            *(since ? &q.has_since : &q.has_until) = 1;
        } else if (!strcmp(a, "--model") && has) q.model = argv[++i];
        else if (!strcmp(a, "--key") && has) q.key = argv[++i];
        else if (!strcmp(a, "--status") && has) {
            const char *v = argv[++i];
            char *end;
            long c = strtol(v, &end, 10);
            if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5' && !strcmp(v + 1, "xx")) q.status_class = v[0] - '0';
            else if (*v && !*end && c >= 100 && c <= 599) q.status = (int)c;
            else return cli_usage_error("audit", "--status takes an HTTP status (100..599) or a class (2xx), not '%s'", v);
        } else if (a[0] == '-' && a[1]) return cli_usage_error("audit", "unknown option or missing value: %s", a);
        else if (path) return cli_usage_error("audit", "extra argument: %s", a);
        else path = a;
    }
    if (!path) return cli_usage_error("audit", "query needs the LOG");
    owl_error err = {0};
    if (verify) {
        uint64_t lines = 0, bad = 0;
        char why[512];
        if (owl_audit_verify(path, &lines, &bad, why, sizeof why, &err)) return cli_report_error(&err);
        if (bad) {
            fprintf(stderr, "owl: %s: %s\nowl: refusing to query a broken chain (--no-verify reads it anyway)\n", path, why);
            return EXIT_INPUT;
        }
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "owl: %s: cannot open audit log: %s\n", path, strerror(errno));
        return EXIT_OTHER;
    }
    char *line = malloc(LINE_CAP + 1);
    if (!line) {
        fclose(f);
        fprintf(stderr, "owl: out of memory\n");
        return EXIT_OTHER;
    }
    if (!json)
        printf("%-8s %-24s %-6s %-20s %-20s %-24s %-11s %9s  %s\n", "SEQ", "TIME", "STATUS", "KEY", "MODEL", "ROUTE",
               "TOKENS", "MS", "REQUEST");
    uint64_t no = 0, shown = 0;
    for (;;) {
        size_t n = 0;
        int c = 0;
        while ((c = getc_unlocked(f)) != EOF && c != '\n')
            if (n < LINE_CAP) line[n++] = (char)c;
        if (c == EOF && n == 0) break;
        no++;
        json_t *o = n < LINE_CAP ? json_loadb(line, n, 0, NULL) : NULL;
        if (!json_is_object(o)) {
            fprintf(stderr, "owl: %s: line %" PRIu64 " is not a JSON object: skipped\n", path, no);
        } else if (matches(&q, o)) {
            shown++;
            if (json) {
                fwrite(line, 1, n, stdout);
                putchar('\n');
            } else {
                print_row(o);
            }
        }
        json_decref(o);
        if (c == EOF) break;
    }
    free(line);
    fclose(f);
    if (!json) printf("%" PRIu64 " of %" PRIu64 " events\n", shown, no);
    return EXIT_OK;
}

int cmd_audit(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "query")) return cmd_audit_query(argc - 1, argv + 1);
    int json = 0;
    const char *args[3] = {NULL, NULL, NULL};
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("audit", "unknown option: %s", argv[i]);
        else if (n == 3) return cli_usage_error("audit", "extra argument: %s", argv[i]);
        else args[n++] = argv[i];
    }
    owl_error err = {0};
    if (n == 3 && !strcmp(args[0], "append")) {
        if (owl_audit_append(args[1], args[2], &err)) return cli_report_error(&err);
        if (json) printf("{\"appended\": true}\n");
        return EXIT_OK;
    }
    if (n != 2 || strcmp(args[0], "verify")) return cli_usage_error("audit", "expected: verify LOG, append LOG EVENT_JSON, or query LOG");
    uint64_t lines = 0, bad = 0;
    char why[512];
    if (owl_audit_verify(args[1], &lines, &bad, why, sizeof why, &err)) return cli_report_error(&err);
    if (json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:s}", "intact", !bad, "lines", (json_int_t)lines, "first_bad_line",
                              (json_int_t)bad, "why", bad ? why : "");
        char *t = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
        if (t) puts(t);
        free(t);
        json_decref(o);
    } else if (bad) fprintf(stderr, "owl: %s: %s\n", args[1], why);
    else printf("intact: %s, %" PRIu64 " lines\n", args[1], lines);
    return bad ? EXIT_INPUT : EXIT_OK;
}
