/* fuzz_govern.c: libFuzzer harness for the governance parsers: licence
 * detection over hostile declared fields and LICENSE texts, policy files, and
 * manifests given to sign and verify. The first byte picks the parser. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "owl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *write_temp(const uint8_t *data, size_t size) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/owl_fuzz_govern_%d.json", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    int mode = data[0] % 3;
    data++, size--;
    owl_error err;
    if (mode == 0) {
        /* NUL-separated: license, license_name, license_link, then the LICENSE text */
        char *buf = malloc(size + 1);
        if (!buf) return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        const char *f[3] = {NULL, NULL, NULL};
        size_t at = 0;
        for (int i = 0; i < 3 && at <= size; i++) {
            f[i] = buf + at;
            at += strlen(buf + at) + 1;
        }
        owl_license_sources s = {"fuzz", 0, f[0], f[1], f[2], "LICENSE", at < size ? buf + at : NULL, at < size ? size - at : 0};
        owl_license_detection d;
        owl_license_detect_sources(&s, &d);
        owl_use_request r = {OWL_USE_COMMERCIAL, 800000000, 1, 1};
        char reasons[256], duties[256];
        owl_license_check(d.terms, &r, reasons, sizeof reasons, duties, sizeof duties);
        free(buf);
        return 0;
    }
    const char *path = write_temp(data, size);
    if (!path) return 0;
    if (mode == 1) {
        owl_policy *p = NULL;
        if (owl_policy_load(path, &p, &err) == OWL_OK) owl_policy_free(p);
    } else {
        owl_manifest_sign(path, "/nonexistent/key", &err);
    }
    unlink(path);
    return 0;
}
