/* error.c: formatting of owl_error messages. */
#define _POSIX_C_SOURCE 200809L
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

owl_status owl_fail(owl_error *err, owl_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

owl_status owl_fail_prefix(owl_error *err, const char *fmt, ...) {
    if (!err) return OWL_ERR_INPUT;
    char prefix[512], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t a = strlen(prefix), cap = sizeof err->message;
    if (a > cap - 3) a = cap - 3;
    memcpy(err->message, prefix, a);
    memcpy(err->message + a, ": ", 2);
    size_t b = strnlen(old, cap);
    if (b > cap - a - 3) b = cap - a - 3;
    memcpy(err->message + a + 2, old, b);
    err->message[a + 2 + b] = '\0';
    return err->status;
}

void owl_error_clear(owl_error *err) {
    if (err) {
        err->status = OWL_OK;
        err->message[0] = '\0';
    }
}
