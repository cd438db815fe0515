/* safetensors.h: the safetensors reader (zero-copy over a mapped file) and
 * sharded checkpoints (model.safetensors.index.json). Layout: u64 LE header
 * length N, N bytes of JSON header, then the data section; every tensor's
 * data_offsets are relative to the data section, which starts at 8 + N. */
#ifndef OWL_FORMATS_SAFETENSORS_H
#define OWL_FORMATS_SAFETENSORS_H

#include <jansson.h>
#include <stdint.h>

#include "model/model.h"
#include "owl.h"

#define OWL_SAFETENSORS_MAX_HEADER 100000000ull /* the reference implementation's cap */
#define OWL_SAFETENSORS_MAX_NAME 1024

/* Adds the tensors of one safetensors file held in memory to m, as file
   number `file` (already registered; its path names it in messages). Names
   are kept as found (name == source_name); owl_model_canonical_names maps
   them. Tensor data points into `data`, which must outlive m. If meta is
   non-NULL it receives the __metadata__ object (a new reference) or NULL. */
owl_status owl_safetensors_parse(owl_model *m, int file, const uint8_t *data, uint64_t size, const char *path,
                                 json_t **meta, owl_error *err);

/* Maps path, registers it with the given role and adds its tensors. */
owl_status owl_safetensors_load(owl_model *m, const char *path, const char *role, json_t **meta, owl_error *err);

/* A sharded checkpoint: reads the index, loads every shard it names (plain
   file names in the index's directory) and checks that each tensor is in the
   shard the index names and in no other. meta receives the index's
   "metadata" object (new reference) or NULL. */
owl_status owl_safetensors_load_index(owl_model *m, const char *index_path, json_t **meta, owl_error *err);

#endif
