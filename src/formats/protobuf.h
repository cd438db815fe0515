/* protobuf.h: a small, strict protobuf wire-format reader for SentencePiece
 * files: 10-byte varints at most, lengths checked against what is left,
 * nesting capped, unknown fields skipped by wire type, groups refused. */
#ifndef OWL_FORMATS_PROTOBUF_H
#define OWL_FORMATS_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

enum owl_pb_wire {
    OWL_PB_VARINT = 0,
    OWL_PB_I64 = 1,
    OWL_PB_LEN = 2,
    OWL_PB_GROUP_START = 3,
    OWL_PB_GROUP_END = 4,
    OWL_PB_I32 = 5,
};

#define OWL_PB_MAX_DEPTH 32
#define OWL_PB_MAX_FIELD ((1u << 29) - 1)

/* A position inside one message; offsets in errors are from `base`. */
typedef struct owl_pb_reader {
    const uint8_t *base, *p, *end;
    int depth;
    const char *path;
} owl_pb_reader;

typedef struct owl_pb_field {
    uint32_t number;
    int wire;
    uint64_t offset;     /* of the field's key, from the start of the buffer */
    uint64_t value;      /* VARINT, I64 and I32 payloads */
    const uint8_t *data; /* LEN payload */
    size_t len;
} owl_pb_field;

void owl_pb_init(owl_pb_reader *r, const uint8_t *data, size_t size, const char *path);
/* 1: *f holds the next field; 0: end of the message; -1: malformed (err set). */
int owl_pb_next(owl_pb_reader *r, owl_pb_field *f, owl_error *err);
/* A reader over a LEN field's payload, one level deeper than r. */
owl_status owl_pb_enter(const owl_pb_reader *r, const owl_pb_field *f, owl_pb_reader *sub, owl_error *err);
/* Fails unless a known field came with the wire type its schema gives it. */
owl_status owl_pb_expect(const owl_pb_reader *r, const owl_pb_field *f, int wire, const char *name, owl_error *err);

/* int32 fields travel as 64-bit varints (negative ones sign-extended); the
   low 32 bits are the value, as protobuf's own parsers take them. */
int32_t owl_pb_int32(uint64_t v);
float owl_pb_float(uint64_t v);

#endif
