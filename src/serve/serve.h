/* serve.h: owl serve's internals shared with tests and the fuzz harness:
 * the request validation on its own, with no model or engine behind it. */
#ifndef OWL_SERVE_SERVE_H
#define OWL_SERVE_SERVE_H
#include <stddef.h>
/* Parses body as a completion request and checks every field's type and
   range as the routes do. Returns 1 if it is valid; else 0 and msg says why. */
int serve_validate_request(const char *body, size_t len, char *msg, size_t cap);
#endif
