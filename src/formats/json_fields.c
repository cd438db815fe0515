/* json_fields.c: typed field reads over jansson for the Hugging Face style
 * loaders, so every config file rejects bad values with the same precise
 * wording. */
#include "formats/json_fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

owl_status owl_json_parse_object(const char *text, size_t len, const char *path, json_t **out, owl_error *err) {
    json_error_t je;
    *out = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root && strstr(je.text, "too big"))
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!root)
        return owl_fail(err, OWL_ERR_INPUT, "%s: not valid JSON: line %d, column %d: %s", path, je.line, je.column,
                        je.text);
    if (!json_is_object(root)) {
        char what[96];
        owl_json_describe(root, what, sizeof what);
        json_decref(root);
        return owl_fail(err, OWL_ERR_INPUT, "%s: expected a JSON object, found %s", path, what);
    }
    *out = root;
    return OWL_OK;
}

const char *owl_printable(const char *s, char *buf, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    if (!cap) return buf;
    for (size_t i = 0; s && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (k + 8 >= cap) {
            /* cut at a character boundary so the message stays UTF-8 */
            while (k > 0 && ((unsigned char)buf[k - 1] & 0xC0) == 0x80) k--;
            if (k > 0 && (unsigned char)buf[k - 1] >= 0xC0) k--;
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        } else {
            buf[k++] = (char)c;
        }
    }
    buf[k] = '\0';
    return buf;
}

const char *owl_json_describe(const json_t *v, char *buf, size_t cap) {
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING: snprintf(buf, cap, "string \"%s\"", owl_printable(json_string_value(v), tmp, sizeof tmp)); break;
    case JSON_INTEGER: snprintf(buf, cap, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, cap, "%g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, cap, "true"); break;
    case JSON_FALSE: snprintf(buf, cap, "false"); break;
    case JSON_NULL: snprintf(buf, cap, "null"); break;
    case JSON_ARRAY: snprintf(buf, cap, "an array"); break;
    case JSON_OBJECT: snprintf(buf, cap, "an object"); break;
    default: snprintf(buf, cap, "a value of unknown type"); break;
    }
    return buf;
}

owl_status owl_json_int_value(const json_t *v, int64_t lo, int64_t hi, int64_t *out, const char *what, const char *path,
                              owl_error *err) {
    int64_t x = 0;
    int ok = 0;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
        ok = 1;
    } else if (json_is_real(v)) {
        /* integral doubles: from the too-big-integer fallback parse or "64.0" */
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
            x = (int64_t)d;
            ok = 1;
        }
    }
    if (!ok || x < lo || x > hi) {
        char found[96];
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: expected an integer from %lld to %lld, found %s", path, what,
                        (long long)lo, (long long)hi, owl_json_describe(v, found, sizeof found));
    }
    *out = x;
    return OWL_OK;
}

owl_status owl_field_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *path,
                         owl_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return OWL_OK;
    return owl_json_int_value(v, lo, hi, out, key, path, err);
}

owl_status owl_field_number(const json_t *obj, const char *key, double lo, double hi, double *out, const char *path,
                            owl_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return OWL_OK;
    double x = json_number_value(v);
    if (!json_is_number(v) || !(x >= lo && x <= hi)) {
        char found[96];
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: expected a number from %g to %g, found %s", path, key, lo, hi,
                        owl_json_describe(v, found, sizeof found));
    }
    *out = x;
    return OWL_OK;
}

owl_status owl_field_bool(const json_t *obj, const char *key, int *out, const char *path, owl_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return OWL_OK;
    if (!json_is_boolean(v)) {
        char found[96];
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: expected true or false, found %s", path, key,
                        owl_json_describe(v, found, sizeof found));
    }
    *out = json_is_true(v);
    return OWL_OK;
}

owl_status owl_field_string(owl_model *m, const json_t *obj, const char *key, size_t cap, const char **out,
                            const char *path, owl_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return OWL_OK;
    char found[96];
    if (!json_is_string(v))
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: expected a string, found %s", path, key,
                        owl_json_describe(v, found, sizeof found));
    size_t n = json_string_length(v);
    if (n > cap)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s: %zu bytes long, more than the %zu owl accepts", path, key, n, cap);
    /* strings hold no NUL: jansson refuses \u0000 unless JSON_ALLOW_NUL */
    const char *s = owl_model_strndup(m, json_string_value(v), n);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    *out = s;
    return OWL_OK;
}
