/* cmd_audit.c: `owl audit verify LOG`: checks an audit log's hash chain and
 * names the first bad line; `owl audit append LOG JSON` adds an event. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl audit verify LOG [--json]\n"
    "       owl audit append LOG EVENT_JSON [--json]\n"
    "\n"
    "verify checks every line of an audit log (written by owl run --audit-log):\n"
    "its sequence number and the SHA-256 of the line before. An edited, deleted,\n"
    "inserted or moved line breaks the chain; the first bad line is named.\n"
    "append adds one event object as a chained line (one write under a lock).\n"
    "\n"
    "exit status: 0 intact, 1 broken chain or bad input, 2 bad usage, 3 I/O error\n";

int cmd_audit(int argc, char **argv) {
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
    if (n != 2 || strcmp(args[0], "verify")) return cli_usage_error("audit", "expected: verify LOG, or append LOG EVENT_JSON");
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
