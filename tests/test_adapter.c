/* test_adapter.c: LoRA adapter directories: the real PEFT (GPT-2) and MLX
 * (Llama 3, layers 30-31) adapters in ../shared, with figures taken from the
 * files by Python, and refusals (pickle weights, other PEFT types, rank
 * mismatches) on adapters written to a temp dir. */
#define _POSIX_C_SOURCE 200809L
#include "model/model.h"
#include "testfiles.h"

static int has_target(const owl_adapter_info *a, const char *name) {
    for (size_t i = 0; i < a->n_targets; i++)
        if (!strcmp(a->targets[i], name)) return 1;
    return 0;
}

static void test_peft(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    owl_status st = owl_model_open(shared_path("lora/gpt2-tigrinya-peft"), &m, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(in->format == OWL_FORMAT_PEFT_ADAPTER);
    CHECK(in->name && !strcmp(in->name, "gpt2-tigrinya-peft"));
    const owl_adapter_info *a = in->adapter;
    CHECK(a != NULL);
    if (a) {
        CHECK(!strcmp(a->kind, "lora") && a->rank == 8 && a->alpha == 32.0);
        CHECK(a->fan_in_fan_out == 1 && a->use_rslora == 0 && a->use_dora == 0);
        CHECK(a->base_model && !strcmp(a->base_model, "gpt2"));
        CHECK(a->n_targets == 2 && !strcmp(a->targets[0], "c_attn") && !strcmp(a->targets[1], "c_proj"));
    }
    /* 73 header keys: 72 tensors + __metadata__; 12 layers x (c_attn, attn.c_proj, mlp.c_proj) x (A, B) */
    CHECK(in->n_tensors == 72, "%zu", in->n_tensors);
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    CHECK(params == 811008, "%llu", (unsigned long long)params);
    const owl_tensor *t = owl_model_find_tensor(m, "blk.0.attn_qkv.weight.lora_a");
    CHECK(t && !strcmp(t->source_name, "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"));
    /* shape [8, 768] (rank x in) in the file; header length 9064 puts the data at 9072 */
    CHECK(t && t->ne[0] == 768 && t->ne[1] == 8 && t->offset == 9072);
    t = owl_model_find_tensor(m, "blk.0.attn_qkv.weight.lora_b");
    CHECK(t && t->ne[0] == 8 && t->ne[1] == 2304);
    t = owl_model_find_tensor(m, "blk.11.ffn_down.weight.lora_b");
    CHECK(t && t->ne[0] == 8 && t->ne[1] == 768 && t->offset == 1065840);
    t = owl_model_find_tensor(m, "blk.5.ffn_down.weight.lora_a");
    CHECK(t && t->ne[0] == 3072 && t->ne[1] == 8);
    CHECK(owl_model_find_tensor(m, "blk.11.attn_output.weight.lora_a") != NULL);
    CHECK(owl_model_find_tensor(m, "blk.12.attn_qkv.weight.lora_a") == NULL);
    char *md = NULL;
    CHECK(owl_model_metadata_json(m, 0, &md, &err) == OWL_OK);
    CHECK(md && strstr(md, "\"peft_type\": \"LORA\"") && strstr(md, "\"lora_alpha\": 32"));
    free(md);
    owl_model_close(m);
}

static void test_mlx(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    owl_status st = owl_model_open(shared_path("lora/discollama-mlx"), &m, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(in->format == OWL_FORMAT_MLX_ADAPTER);
    const owl_adapter_info *a = in->adapter;
    CHECK(a != NULL);
    if (a) {
        /* lora_parameters: rank 8, alpha 16, scale 2.0 (= alpha / rank) */
        CHECK(a->rank == 8 && a->alpha == 16.0, "rank %lld alpha %g", (long long)a->rank, a->alpha);
        CHECK(a->base_model && !strcmp(a->base_model, "/Users/pdevine/git/Meta-Llama-3-8B-Instruct"));
        CHECK(a->n_targets == 2 && has_target(a, "q_proj") && has_target(a, "v_proj"));
        CHECK(!strcmp(a->targets[0], "q_proj")); /* sorted */
    }
    CHECK(in->n_tensors == 8);
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    CHECK(params == 212992, "%llu", (unsigned long long)params);
    for (size_t i = 0; i < in->n_tensors; i++)
        CHECK(!strncmp(in->tensors[i].name, "blk.30.", 7) || !strncmp(in->tensors[i].name, "blk.31.", 7), "%s",
              in->tensors[i].name);
    const owl_tensor *t = owl_model_find_tensor(m, "blk.30.attn_q.weight.lora_a");
    /* shape [4096, 8] (in x rank) in the file; header 864 bytes, so data from 872 */
    CHECK(t && !strcmp(t->source_name, "model.layers.30.self_attn.q_proj.lora_a"));
    CHECK(t && t->ne[0] == 8 && t->ne[1] == 4096 && t->offset == 295784);
    t = owl_model_find_tensor(m, "blk.31.attn_v.weight.lora_b");
    CHECK(t && t->ne[0] == 1024 && t->ne[1] == 8 && t->offset == 557928);
    owl_model_close(m);
}

#define PEFT_CONFIG "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":\"q_proj|v_proj\"}"
#define PEFT_WEIGHTS                                                                                       \
    "{\"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight\":"                                  \
    "{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]},"                                         \
    "\"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight\":"                                  \
    "{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[32,64]},"                                        \
    "\"base_model.model.model.embed_tokens.lora_embedding_A\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[64,88]}}"

static void test_synthetic(void) {
    mkdir(tmp_path("peft"), 0755);
    write_text("peft/adapter_config.json", PEFT_CONFIG);
    write_safetensors_zeros("peft/adapter_model.safetensors", PEFT_WEIGHTS, 88);
    owl_model *m = NULL;
    owl_error err = {0};
    CHECK(owl_model_open(tmp_path("peft"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        const owl_adapter_info *a = m->info.adapter;
        CHECK(a && a->rank == 2 && a->alpha == 4 && a->n_targets == 1 && !strcmp(a->targets[0], "q_proj|v_proj"));
        CHECK(owl_model_find_tensor(m, "blk.0.attn_q.weight.lora_a") && owl_model_find_tensor(m, "blk.0.attn_q.weight.lora_b"));
        CHECK(owl_model_find_tensor(m, "token_embd.weight.lora_a") != NULL);
        owl_model_close(m);
    }

    /* MLX with scale only: alpha = scale * rank */
    mkdir(tmp_path("mlx"), 0755);
    write_text("mlx/adapter_config.json", "{\"lora_parameters\":{\"rank\":2,\"scale\":20.0,\"dropout\":0.0},\"num_layers\":-1}");
    write_safetensors_zeros("mlx/adapters.safetensors",
             "{\"model.layers.3.mlp.down_proj.lora_a\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,32]}}", 32);
    CHECK(owl_model_open(tmp_path("mlx"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        CHECK(m->info.adapter && m->info.adapter->alpha == 40.0 && m->info.adapter->n_targets == 1 &&
              !strcmp(m->info.adapter->targets[0], "down_proj"));
        CHECK(owl_model_find_tensor(m, "blk.3.ffn_down.weight.lora_a") != NULL);
        owl_model_close(m);
    }

    mkdir(tmp_path("pickle"), 0755);
    write_text("pickle/adapter_config.json", PEFT_CONFIG);
    write_text("pickle/adapter_model.bin", "PK");
    expect_open_fail(tmp_path("pickle"), OWL_ERR_UNSUPPORTED, "pickle files are not loaded for safety; convert to safetensors");

    mkdir(tmp_path("ia3"), 0755);
    write_text("ia3/adapter_config.json", "{\"peft_type\":\"IA3\"}");
    expect_open_fail(tmp_path("ia3"), OWL_ERR_UNSUPPORTED, "peft_type IA3 is not supported");

    mkdir(tmp_path("noweights"), 0755);
    write_text("noweights/adapter_config.json", PEFT_CONFIG);
    expect_open_fail(tmp_path("noweights"), OWL_ERR_INPUT, "no adapter_model.safetensors");

    mkdir(tmp_path("rank"), 0755);
    write_text("rank/adapter_config.json", "{\"peft_type\":\"LORA\",\"r\":4}");
    write_safetensors_zeros("rank/adapter_model.safetensors", PEFT_WEIGHTS, 88);
    expect_open_fail(tmp_path("rank"), OWL_ERR_INPUT, "has rank 2, but the adapter's rank is 4");

    mkdir(tmp_path("badr"), 0755);
    write_text("badr/adapter_config.json", "{\"peft_type\":\"LORA\",\"r\":\"8\"}");
    expect_open_fail(tmp_path("badr"), OWL_ERR_INPUT, "r: expected an integer from 1 to 65536, found string \"8\"");

    mkdir(tmp_path("neither"), 0755);
    write_text("neither/adapter_config.json", "{\"r\":8}");
    expect_open_fail(tmp_path("neither"), OWL_ERR_UNSUPPORTED, "neither peft_type");

    mkdir(tmp_path("badjson"), 0755);
    write_text("badjson/adapter_config.json", "{\"peft_type\":");
    expect_open_fail(tmp_path("badjson"), OWL_ERR_INPUT, "not valid JSON");

    mkdir(tmp_path("npz"), 0755);
    write_text("npz/adapter_config.json", "{\"lora_parameters\":{\"rank\":8}}");
    write_text("npz/adapters.npz", "PK");
    expect_open_fail(tmp_path("npz"), OWL_ERR_UNSUPPORTED, ".npz adapters are not read");
}

int main(void) {
    tmpdir_create("test_adapter");
    RUN(test_peft);
    RUN(test_mlx);
    RUN(test_synthetic);
    tmpdir_remove();
    DONE("test_adapter");
}
