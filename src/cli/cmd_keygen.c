/* cmd_keygen.c: `owl keygen`: an Ed25519 key pair for signing manifests
 * (K private, K.pub public, both PEM). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl keygen --out K [--json]\n"
    "\n"
    "Writes an Ed25519 private key to K and its public key to K.pub (PEM).\n"
    "\n"
    "exit status: 0 ok, 2 bad usage, 3 I/O error\n";

int cmd_keygen(int argc, char **argv) {
    const char *out = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else return cli_usage_error("keygen", "unknown option or missing value: %s", argv[i]);
    }
    if (!out) return cli_usage_error("keygen", "--out K is required");
    char pub[4096];
    if (snprintf(pub, sizeof pub, "%s.pub", out) >= (int)sizeof pub) return cli_usage_error("keygen", "path too long");
    owl_error err = {0};
    if (owl_keygen(out, pub, &err)) return cli_report_error(&err);
    if (json) { /* paths may hold quotes or backslashes: let jansson escape them */
        json_t *o = json_pack("{s:s, s:s}", "private_key", out, "public_key", pub);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else printf("private key: %s\npublic key:  %s\n", out, pub);
    return EXIT_OK;
}
