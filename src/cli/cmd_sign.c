/* cmd_sign.c: `owl sign`: signs a manifest's canonical form with an Ed25519
 * key and writes the signature into the manifest. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl sign M.json --key K [--json]\n"
    "\n"
    "Signs the manifest (its canonical JSON without \"signature\") with the\n"
    "Ed25519 private key K (from owl keygen) and rewrites M.json atomically with\n"
    "\"signature\": {alg, public_key, value}.\n"
    "\n"
    "exit status: 0 ok, 1 bad input, 2 bad usage, 3 I/O error\n";

int cmd_sign(int argc, char **argv) {
    const char *manifest = NULL, *key = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--key") && i + 1 < argc) key = argv[++i];
        else if (argv[i][0] == '-' || manifest) return cli_usage_error("sign", "unknown option or extra argument: %s", argv[i]);
        else manifest = argv[i];
    }
    if (!manifest || !key) return cli_usage_error("sign", "M.json and --key K are required");
    owl_error err = {0};
    if (owl_manifest_sign(manifest, key, &err)) return cli_report_error(&err);
    if (json) printf("{\"signed\": true}\n");
    else printf("signed: %s\n", manifest);
    return EXIT_OK;
}
