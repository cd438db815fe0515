/* json_util.h: small helpers over jansson shared by loaders and reports. */
#ifndef OWL_CORE_JSON_UTIL_H
#define OWL_CORE_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string from bytes that may not be UTF-8: invalid bytes become U+FFFD. */
json_t *owl_json_string_lossy(const char *p, size_t n);
/* A JSON string or null for a NULL pointer. */
json_t *owl_json_str_or_null(const char *s);

/* A JSON number; values exactly representable as f32 keep their short form (1e-05,
   not 9.9999997473787516e-06). Dump with OWL_JSON_FLAGS. */
json_t *owl_json_real(double x);
#define OWL_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

#endif
