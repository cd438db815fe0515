/* json_fields.h: typed reads of fields from JSON configs (config.json,
 * adapter_config.json, safetensors headers) with the error messages the
 * loaders share: "path: field: expected X, found Y". */
#ifndef OWL_FORMATS_JSON_FIELDS_H
#define OWL_FORMATS_JSON_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "owl.h"

/* Parses a JSON document that must be an object; duplicate keys are refused.
   Integers beyond 64 bits (transformers writes model_max_length = 1e30 that
   way) make jansson fail, so such a text is read again with every number as
   a double, and the field readers below accept integral doubles. */
owl_status owl_json_parse_object(const char *text, size_t len, const char *path, json_t **out, owl_error *err);

/* What a JSON value is, for messages: "string \"abc\"", "-5", "an array". */
const char *owl_json_describe(const json_t *v, char *buf, size_t cap);
/* s made safe to print in a message: control bytes escaped, long text cut. */
const char *owl_printable(const char *s, char *buf, size_t cap);

/* The readers leave *out alone and return OWL_OK when the key is absent or
   null; a present value of the wrong type or out of range is OWL_ERR_INPUT
   naming path and key. */
owl_status owl_field_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *path,
                         owl_error *err);
owl_status owl_field_number(const json_t *obj, const char *key, double lo, double hi, double *out, const char *path,
                            owl_error *err);
owl_status owl_field_bool(const json_t *obj, const char *key, int *out, const char *path, owl_error *err);
/* Copies a string of at most cap bytes into the model's arena. */
owl_status owl_field_string(owl_model *m, const json_t *obj, const char *key, size_t cap, const char **out,
                            const char *path, owl_error *err);

/* The same checks on a value already in hand; `what` names it in messages. */
owl_status owl_json_int_value(const json_t *v, int64_t lo, int64_t hi, int64_t *out, const char *what, const char *path,
                              owl_error *err);

#endif
