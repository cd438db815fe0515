/* arch.c: the families owl can run and how their blocks differ, as llama.cpp
 * builds them (its src/models/ directory). Adding a family that only recombines
 * these traits is adding a row. */
#include "model/arch.h"

#include <string.h>

#define RMS OWL_NORM_RMS
#define LN OWL_NORM_LAYER
#define SEQ OWL_RESID_SEQUENTIAL

static const owl_arch archs[] = {
    /* id            norm ffn              qk norm               residual                   moe               flags, swa */
    {"llama",        RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"qwen2",        RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"qwen3",        RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_HEAD,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"qwen3moe",     RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_HEAD,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"gemma",        RMS, OWL_FFN_GEGLU,  OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_EMBD_SCALE, -1},
    {"gemma2",       RMS, OWL_FFN_GEGLU,  OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_EMBD_SCALE | OWL_ARCH_POST_NORMS, 2},
    {"gemma3",       RMS, OWL_FFN_GEGLU,  OWL_QK_NORM_HEAD,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_EMBD_SCALE | OWL_ARCH_POST_NORMS | OWL_ARCH_SWA_OWN_ROPE, 6},
    {"phi3",         RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_FUSED_GATE_UP, -1},
    {"olmo2",        RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_FULL,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_POST_NORMS | OWL_ARCH_NO_PRE_NORMS, 4},
    {"gptneox",      LN,  OWL_FFN_GELU,   OWL_QK_NORM_NONE,     OWL_RESID_PARALLEL,        OWL_MOE_SOFTMAX,  0, -1},
    {"command-r",    LN,  OWL_FFN_SWIGLU, OWL_QK_NORM_HEAD,     OWL_RESID_PARALLEL_SHARED, OWL_MOE_SOFTMAX,  0, -1},
    {"stablelm",     LN,  OWL_FFN_SWIGLU, OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"starcoder2",   LN,  OWL_FFN_GELU,   OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,  0, -1},
    {"bloom",        LN,  OWL_FFN_GELU,   OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_SOFTMAX,
     OWL_ARCH_EMBD_NORM | OWL_ARCH_ALIBI, -1},
    {"deepseek2",    RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_NONE,     SEQ,                       OWL_MOE_DEEPSEEK,
     OWL_ARCH_MLA, -1},
    {"llama4",       RMS, OWL_FFN_SWIGLU, OWL_QK_NORM_L2_ROPED, SEQ,                       OWL_MOE_LLAMA4,
     OWL_ARCH_NOPE_EVERY_4 | OWL_ARCH_CHUNKED_ATTN, -1},
};

const owl_arch *owl_arch_find(const char *family) {
    if (!family) return NULL;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].id, family) == 0) return &archs[i];
    return NULL;
}
