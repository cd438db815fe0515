/* error.h: building owl_error messages that carry context (file, offset,
 * field, expected, found) up to the caller, which prints them once. */
#ifndef OWL_CORE_ERROR_H
#define OWL_CORE_ERROR_H

#include "owl.h"

#if defined(__GNUC__)
#define OWL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OWL_PRINTF(a, b)
#endif

/* Sets err (if non-NULL) and returns status, so callers can `return owl_fail(...)`. */
owl_status owl_fail(owl_error *err, owl_status status, const char *fmt, ...) OWL_PRINTF(3, 4);
/* Prefixes an existing message with more context ("while reading X: ..."). */
owl_status owl_fail_prefix(owl_error *err, const char *fmt, ...) OWL_PRINTF(2, 3);
void owl_error_clear(owl_error *err);

#endif
