/* fuzz_template.c: libFuzzer harness for the chat-template interpreter: the
 * input up to the first NUL is a template, the rest (when there is a NUL) a
 * JSON render context. Tight limits keep every run short; a crash, a leak or
 * a run past the limits is a bug. */
#include <stdlib.h>
#include <string.h>

#include "owl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *ctx = NULL;
    if (nul) {
        size_t m = size - n - 1;
        ctx = malloc(m + 1);
        if (!ctx) return 0;
        memcpy(ctx, nul + 1, m);
        ctx[m] = '\0';
    }
    owl_error err;
    owl_template *t = NULL;
    if (owl_template_compile((const char *)data, n, "fuzz", &t, &err) == OWL_OK) {
        owl_template_limits lim = {20000, 64, 1u << 20};
        char *out = NULL;
        size_t len;
        if (owl_template_render(t, ctx ? ctx : "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", &lim, &out,
                                &len, &err) == OWL_OK && strlen(out) > len)
            abort(); /* the length reported must cover the text */
        free(out);
    }
    owl_template_free(t);
    free(ctx);
    return 0;
}
