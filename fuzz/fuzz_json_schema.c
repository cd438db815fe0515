/* fuzz_json_schema.c: libFuzzer harness for the JSON Schema compiler and the
 * matcher: the input up to the first NUL is a schema, the rest is fed to the
 * matcher byte by byte, asking for completeness after each. */
#include <stdlib.h>
#include <string.h>

#include "owl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *schema = malloc(n + 1);
    if (!schema) return 0;
    memcpy(schema, data, n);
    schema[n] = '\0';
    owl_error err;
    owl_json_schema *s = NULL;
    owl_json_match *m = NULL;
    if (owl_json_schema_compile(schema, &s, &err) == OWL_OK && owl_json_match_new(s, &m, &err) == OWL_OK && nul) {
        for (const uint8_t *p = nul + 1; p < data + size; p++) {
            if (!owl_json_match_feed(m, (const char *)p, 1)) break;
            (void)owl_json_match_complete(m);
        }
    }
    owl_json_match_free(m);
    owl_json_schema_free(s);
    free(schema);
    return 0;
}
