/* cmd_verify.c: `owl verify`: re-hashes a model against its manifest and,
 * with a public key, checks the manifest's signature. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl verify MODEL M.json [--pubkey P] [--json]\n"
    "\n"
    "Re-hashes every file and the tensor data of MODEL and compares them with\n"
    "the manifest; with --pubkey P (PEM, from owl keygen) the manifest must also\n"
    "carry a valid Ed25519 signature by that key.\n"
    "\n"
    "exit status: 0 verified, 1 mismatch, bad signature or bad input, 2 bad usage, 3 I/O error\n";

int cmd_verify(int argc, char **argv) {
    const char *model = NULL, *manifest = NULL, *pub = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--pubkey") && i + 1 < argc) pub = argv[++i];
        else if (argv[i][0] == '-') return cli_usage_error("verify", "unknown option or missing value: %s", argv[i]);
        else if (!model) model = argv[i];
        else if (!manifest) manifest = argv[i];
        else return cli_usage_error("verify", "extra argument: %s", argv[i]);
    }
    if (!model || !manifest) return cli_usage_error("verify", "MODEL and M.json are required");
    owl_error err = {0};
    owl_model *m = NULL;
    owl_status st = owl_model_open(model, &m, &err);
    if (!st) st = owl_manifest_verify(m, manifest, pub, &err);
    owl_model_close(m);
    if (json) {
        printf("{\"verified\": %s, \"signed\": %s}\n", st ? "false" : "true", pub && !st ? "true" : "false");
    }
    if (st) return cli_report_error(&err);
    if (!json) printf("verified: %s matches %s%s\n", model, manifest, pub ? " (signature valid)" : " (signature not checked: no --pubkey)");
    return EXIT_OK;
}
