/* fuzz_serve_request.c: libFuzzer harness for owl serve's request validation:
 * the input is a request body; parsing, every field check and the schema
 * compile of response_format must never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char msg[512];
    int ok = serve_validate_request((const char *)data, size, msg, sizeof msg);
    if (!ok && !msg[0]) abort(); /* a refusal always says why */
    return 0;
}
