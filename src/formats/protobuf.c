/* protobuf.c: the wire-format reader behind protobuf.h. Every read is
 * bounded by the end of the enclosing message, so a hostile length can only
 * produce an error. */
#include "formats/protobuf.h"

#include <string.h>

#include "core/error.h"

void owl_pb_init(owl_pb_reader *r, const uint8_t *data, size_t size, const char *path) {
    r->base = r->p = data;
    r->end = data ? data + size : data;
    r->depth = 0;
    r->path = path;
}

static unsigned long long at(const owl_pb_reader *r, const uint8_t *p) { return (unsigned long long)(p - r->base); }

/* A base-128 varint: at most 10 bytes, and the 10th may carry only bit 63. */
static int read_varint(owl_pb_reader *r, uint64_t *out, owl_error *err) {
    const uint8_t *start = r->p;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) {
            owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: varint runs past the end of the message", r->path, at(r, start));
            return -1;
        }
        uint8_t b = *r->p++;
        if (i == 9 && (b & 0x80)) {
            owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: varint longer than 10 bytes", r->path, at(r, start));
            return -1;
        }
        if (i == 9 && b > 1) {
            owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: varint overflows 64 bits", r->path, at(r, start));
            return -1;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    *out = v;
    return 0;
}

static uint64_t read_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int owl_pb_next(owl_pb_reader *r, owl_pb_field *f, owl_error *err) {
    if (!r->p || r->p >= r->end) return 0;
    memset(f, 0, sizeof *f);
    f->offset = at(r, r->p);
    uint64_t key;
    if (read_varint(r, &key, err)) return -1;
    uint64_t number = key >> 3;
    f->wire = (int)(key & 7);
    if (number == 0 || number > OWL_PB_MAX_FIELD) {
        owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: invalid field number %llu", r->path,
                 (unsigned long long)f->offset, (unsigned long long)number);
        return -1;
    }
    f->number = (uint32_t)number;
    size_t left;
    switch (f->wire) {
    case OWL_PB_VARINT:
        return read_varint(r, &f->value, err) ? -1 : 1;
    case OWL_PB_I64:
    case OWL_PB_I32: {
        int n = f->wire == OWL_PB_I64 ? 8 : 4;
        if (r->end - r->p < n) {
            owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: field %u needs %d bytes, %lld left", r->path,
                     (unsigned long long)f->offset, f->number, n, (long long)(r->end - r->p));
            return -1;
        }
        f->value = read_le(r->p, n);
        r->p += n;
        return 1;
    }
    case OWL_PB_LEN: {
        uint64_t len;
        if (read_varint(r, &len, err)) return -1;
        left = (size_t)(r->end - r->p);
        if (len > left) {
            owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: field %u is %llu bytes long, past the end of its message (%zu bytes left)",
                     r->path, (unsigned long long)f->offset, f->number, (unsigned long long)len, left);
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    }
    case OWL_PB_GROUP_START:
    case OWL_PB_GROUP_END:
        owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: field %u is a group (wire type %d), which owl does not read",
                 r->path, (unsigned long long)f->offset, f->number, f->wire);
        return -1;
    default:
        owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: field %u has invalid wire type %d", r->path,
                 (unsigned long long)f->offset, f->number, f->wire);
        return -1;
    }
}

owl_status owl_pb_enter(const owl_pb_reader *r, const owl_pb_field *f, owl_pb_reader *sub, owl_error *err) {
    if (f->wire != OWL_PB_LEN)
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: field %u is not a message", r->path,
                        (unsigned long long)f->offset, f->number);
    if (r->depth >= OWL_PB_MAX_DEPTH)
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: messages nested more than %d deep", r->path,
                        (unsigned long long)f->offset, OWL_PB_MAX_DEPTH);
    sub->base = r->base;
    sub->p = f->data;
    sub->end = f->data + f->len;
    sub->depth = r->depth + 1;
    sub->path = r->path;
    return OWL_OK;
}

static const char *wire_name(int wire) {
    switch (wire) {
    case OWL_PB_VARINT: return "varint";
    case OWL_PB_I64: return "64-bit";
    case OWL_PB_LEN: return "length-delimited";
    case OWL_PB_I32: return "32-bit";
    default: return "group";
    }
}

owl_status owl_pb_expect(const owl_pb_reader *r, const owl_pb_field *f, int wire, const char *name, owl_error *err) {
    if (f->wire == wire) return OWL_OK;
    return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: %s (field %u) is %s, expected %s", r->path,
                    (unsigned long long)f->offset, name, f->number, wire_name(f->wire), wire_name(wire));
}

int32_t owl_pb_int32(uint64_t v) {
    uint32_t u = (uint32_t)v;
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

float owl_pb_float(uint64_t v) {
    uint32_t u = (uint32_t)v;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
