/* utf8.h: strict UTF-8 validation (no overlong forms, no surrogates, nothing
 * above U+10FFFF) for names and keys read from untrusted files. */
#ifndef OWL_CORE_UTF8_H
#define OWL_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool owl_utf8_valid(const char *s, size_t n);

#endif
