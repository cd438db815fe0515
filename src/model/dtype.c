/* dtype.c: names and block geometry of every ggml tensor type id, plus the
 * extra element types safetensors files use. */
#include "model/dtype.h"

#include <strings.h>

#include "core/checked.h"

static const owl_dtype_traits dtype_table[OWL_DTYPE_LIMIT] = {
    [OWL_F32] = {"F32", 1, 4, 0},
    [OWL_F16] = {"F16", 1, 2, 0},
    [OWL_Q4_0] = {"Q4_0", 32, 18, 0},
    [OWL_Q4_1] = {"Q4_1", 32, 20, 0},
    [4] = {"Q4_2", 0, 0, 1},
    [5] = {"Q4_3", 0, 0, 1},
    [OWL_Q5_0] = {"Q5_0", 32, 22, 0},
    [OWL_Q5_1] = {"Q5_1", 32, 24, 0},
    [OWL_Q8_0] = {"Q8_0", 32, 34, 0},
    [OWL_Q8_1] = {"Q8_1", 32, 36, 0},
    [OWL_Q2_K] = {"Q2_K", 256, 84, 0},
    [OWL_Q3_K] = {"Q3_K", 256, 110, 0},
    [OWL_Q4_K] = {"Q4_K", 256, 144, 0},
    [OWL_Q5_K] = {"Q5_K", 256, 176, 0},
    [OWL_Q6_K] = {"Q6_K", 256, 210, 0},
    [OWL_Q8_K] = {"Q8_K", 256, 292, 0},
    [OWL_IQ2_XXS] = {"IQ2_XXS", 256, 66, 0},
    [OWL_IQ2_XS] = {"IQ2_XS", 256, 74, 0},
    [OWL_IQ3_XXS] = {"IQ3_XXS", 256, 98, 0},
    [OWL_IQ1_S] = {"IQ1_S", 256, 50, 0},
    [OWL_IQ4_NL] = {"IQ4_NL", 32, 18, 0},
    [OWL_IQ3_S] = {"IQ3_S", 256, 110, 0},
    [OWL_IQ2_S] = {"IQ2_S", 256, 82, 0},
    [OWL_IQ4_XS] = {"IQ4_XS", 256, 136, 0},
    [OWL_I8] = {"I8", 1, 1, 0},
    [OWL_I16] = {"I16", 1, 2, 0},
    [OWL_I32] = {"I32", 1, 4, 0},
    [OWL_I64] = {"I64", 1, 8, 0},
    [OWL_F64] = {"F64", 1, 8, 0},
    [OWL_IQ1_M] = {"IQ1_M", 256, 56, 0},
    [OWL_BF16] = {"BF16", 1, 2, 0},
    [31] = {"Q4_0_4_4", 0, 0, 1},
    [32] = {"Q4_0_4_8", 0, 0, 1},
    [33] = {"Q4_0_8_8", 0, 0, 1},
    [OWL_TQ1_0] = {"TQ1_0", 256, 54, 0},
    [OWL_TQ2_0] = {"TQ2_0", 256, 66, 0},
    [36] = {"IQ4_NL_4_4", 0, 0, 1},
    [37] = {"IQ4_NL_4_8", 0, 0, 1},
    [38] = {"IQ4_NL_8_8", 0, 0, 1},
    [OWL_MXFP4] = {"MXFP4", 32, 17, 0},
    [OWL_U8] = {"U8", 1, 1, 0},
};

const owl_dtype_traits *owl_dtype_get(int dtype) {
    if (dtype < 0 || dtype >= OWL_DTYPE_LIMIT || !dtype_table[dtype].name) return 0;
    return &dtype_table[dtype];
}

const char *owl_dtype_name(int dtype) {
    const owl_dtype_traits *t = owl_dtype_get(dtype);
    return t ? t->name : 0;
}

int owl_dtype_is_sized(int dtype) {
    const owl_dtype_traits *t = owl_dtype_get(dtype);
    return t && t->block_size > 0;
}

int owl_dtype_from_name(const char *name) {
    for (int i = 0; i < OWL_DTYPE_LIMIT; i++)
        if (dtype_table[i].name && strcasecmp(dtype_table[i].name, name) == 0) return i;
    return -1;
}

owl_status owl_dtype_bytes(int dtype, uint64_t n_elements, uint64_t *bytes) {
    const owl_dtype_traits *t = owl_dtype_get(dtype);
    if (!t || !t->block_size) return OWL_ERR_UNSUPPORTED;
    if (n_elements % t->block_size) return OWL_ERR_INPUT;
    return owl_mul_u64(n_elements / t->block_size, t->type_size, bytes) ? OWL_OK : OWL_ERR_INPUT;
}
