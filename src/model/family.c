/* family.c: known architectures and the traits that differ between them.
 * Rope styles follow llama.cpp's llama_model_rope_type(): NORM rotates
 * adjacent pairs, NEOX rotates the two halves of each head. */
#include "model/family.h"

#include <string.h>

static const owl_family families[] = {
    {"llama", "Llama / Mistral / Mixtral", OWL_ROPE_INTERLEAVED},
    {"llama4", "Llama 4", OWL_ROPE_INTERLEAVED},
    {"deci", "Deci / Nemotron-NAS", OWL_ROPE_INTERLEAVED},
    {"baichuan", "Baichuan", OWL_ROPE_INTERLEAVED},
    {"command-r", "Command R", OWL_ROPE_INTERLEAVED},
    {"cohere2", "Command R7B", OWL_ROPE_INTERLEAVED},
    {"olmo", "OLMo", OWL_ROPE_INTERLEAVED},
    {"deepseek", "DeepSeek LLM", OWL_ROPE_INTERLEAVED},
    {"deepseek2", "DeepSeek V2 / V3", OWL_ROPE_INTERLEAVED},
    {"granite", "Granite", OWL_ROPE_INTERLEAVED},
    {"granitemoe", "Granite MoE", OWL_ROPE_INTERLEAVED},
    {"qwen", "Qwen", OWL_ROPE_HALVES},
    {"qwen2", "Qwen 2 / 2.5", OWL_ROPE_HALVES},
    {"qwen2moe", "Qwen 2 MoE", OWL_ROPE_HALVES},
    {"qwen3", "Qwen 3", OWL_ROPE_HALVES},
    {"qwen3moe", "Qwen 3 MoE", OWL_ROPE_HALVES},
    {"gemma", "Gemma", OWL_ROPE_HALVES},
    {"gemma2", "Gemma 2", OWL_ROPE_HALVES},
    {"gemma3", "Gemma 3", OWL_ROPE_HALVES},
    {"phi2", "Phi-2", OWL_ROPE_HALVES},
    {"phi3", "Phi-3", OWL_ROPE_HALVES},
    {"olmo2", "OLMo 2", OWL_ROPE_HALVES},
    {"olmoe", "OLMoE", OWL_ROPE_HALVES},
    {"gptneox", "GPT-NeoX / Pythia", OWL_ROPE_HALVES},
    {"stablelm", "StableLM", OWL_ROPE_HALVES},
    {"starcoder2", "StarCoder 2", OWL_ROPE_HALVES},
    {"falcon", "Falcon", OWL_ROPE_HALVES},
    {"bloom", "BLOOM", OWL_ROPE_NONE},
    {"gpt2", "GPT-2", OWL_ROPE_NONE},
    {"mpt", "MPT", OWL_ROPE_NONE},
    {"starcoder", "StarCoder", OWL_ROPE_NONE},
    {"refact", "Refact", OWL_ROPE_NONE},
    {"bert", "BERT", OWL_ROPE_NONE},
    {"t5", "T5", OWL_ROPE_NONE},
};

const owl_family *owl_family_find(const char *arch) {
    if (!arch) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].id, arch) == 0) return &families[i];
    return NULL;
}
