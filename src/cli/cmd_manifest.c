/* cmd_manifest.c: `owl manifest`: a model's provenance manifest (file and
 * tensor digests, family, parameters, licence) as canonical JSON on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl manifest MODEL [--json] > M.json\n"
    "\n"
    "Prints the model's manifest as canonical JSON (sorted keys, no whitespace;\n"
    "the form `owl sign` signs): SHA-256 of every file, a digest of the tensor\n"
    "data, tokenizer and chat-template digests, family, parameter count, licence\n"
    "and source. The output is JSON whether or not --json is given.\n"
    "\n"
    "exit status: 0 ok, 1 bad input, 2 bad usage, 3 I/O error\n";

int cmd_manifest(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) continue;
        else if (argv[i][0] == '-' || model) return cli_usage_error("manifest", "unknown option or extra argument: %s", argv[i]);
        else model = argv[i];
    }
    if (!model) return cli_usage_error("manifest", "a MODEL is required");
    owl_error err = {0};
    owl_model *m = NULL;
    char *text = NULL;
    if (owl_model_open(model, &m, &err) || owl_manifest_build(m, model, &text, &err)) {
        owl_model_close(m);
        return cli_report_error(&err);
    }
    puts(text);
    free(text);
    owl_model_close(m);
    return fflush(stdout) ? EXIT_OTHER : EXIT_OK;
}
