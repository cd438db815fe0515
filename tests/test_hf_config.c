/* test_hf_config.c: config.json variants parsed from memory (Llama, GPT-2
 * names, DeepSeek MLA, multimodal text_config, bad values), the name tables,
 * README front matter, tokenizer_config.json, and the real configs in
 * ../shared (SmolLM2, Phi-3-mini-128k, the OLMo test model). */
#include <math.h>

#include "core/mapped_file.h"
#include "formats/hf_config.h"
#include "harness.h"
#include "model/model.h"
#include "model/names.h"

static owl_model *config(const char *text, owl_status *st, owl_error *err) {
    owl_model *m = owl_model_new();
    *st = owl_hf_config_parse(m, text, strlen(text), "config.json", err);
    return m;
}

static const owl_special_token *special(const owl_model *m, const char *role) {
    for (size_t i = 0; i < m->n_special; i++)
        if (!strcmp(m->special[i].role, role)) return &m->special[i];
    return NULL;
}

static void expect_bad(const char *text, const char *substr) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = config(text, &st, &err);
    CHECK(st == OWL_ERR_INPUT, "status %d for %s", st, text);
    CHECK(strstr(err.message, substr) != NULL, "'%s' lacks '%s'", err.message, substr);
    owl_model_close(m);
}

static void test_llama(void) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = config("{\"architectures\":[\"MistralForCausalLM\"],\"model_type\":\"mistral\",\"hidden_size\":4096,"
                          "\"intermediate_size\":14336,\"num_hidden_layers\":32,\"num_attention_heads\":32,"
                          "\"num_key_value_heads\":8,\"vocab_size\":32768,\"max_position_embeddings\":32768,"
                          "\"rms_norm_eps\":1e-05,\"rope_theta\":1000000.0,\"sliding_window\":null,"
                          "\"bos_token_id\":1,\"eos_token_id\":2,\"head_dim\":null}",
                          &st, &err);
    const owl_hparams *hp = &m->info.hp;
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "llama") && !strcmp(m->info.architecture, "MistralForCausalLM"));
    CHECK(hp->n_embd == 4096 && hp->n_ff == 14336 && hp->n_layer == 32 && hp->n_head == 32 && hp->n_head_kv == 8);
    CHECK(hp->head_dim == 128 && hp->n_rot == 128 && hp->n_vocab == 32768 && hp->n_ctx_train == 32768);
    CHECK(hp->rope_theta == 1e6 && hp->norm_eps == 1e-5 && hp->rope_style == OWL_ROPE_HALVES);
    CHECK(hp->sliding_window == 0 && hp->tied_embeddings == 0 && hp->rope_scale == 0);
    CHECK(special(m, "bos") && special(m, "bos")->id == 1 && special(m, "eos")->id == 2 && !special(m, "pad"));
    CHECK(m->metadata && json_object_get(m->metadata, "config"));
    owl_model_close(m);

    /* Llama 3.1: rope_scaling with a factor, eos a list */
    m = config("{\"model_type\":\"llama\",\"hidden_size\":2048,\"num_attention_heads\":32,"
               "\"rope_scaling\":{\"factor\":32.0,\"rope_type\":\"llama3\",\"low_freq_factor\":1.0},"
               "\"eos_token_id\":[128001,128008,128009],\"pad_token_id\":null,\"tie_word_embeddings\":true}",
               &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(m->info.hp.rope_scale == 32.0 && m->info.hp.tied_embeddings == 1 && m->info.hp.head_dim == 64);
    CHECK(special(m, "eos") && special(m, "eos")->id == 128001 && !special(m, "pad"));
    /* no architectures: the model_type names it */
    CHECK(!strcmp(m->info.architecture, "llama"));
    owl_model_close(m);
}

static void test_gpt2_names(void) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = config("{\"architectures\":[\"GPT2LMHeadModel\"],\"model_type\":\"gpt2\",\"n_embd\":768,"
                          "\"n_layer\":12,\"n_head\":12,\"n_positions\":1024,\"n_ctx\":1024,\"n_inner\":null,"
                          "\"vocab_size\":50257,\"layer_norm_epsilon\":1e-05,\"bos_token_id\":50256,"
                          "\"eos_token_id\":50256}",
                          &st, &err);
    const owl_hparams *hp = &m->info.hp;
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "gpt2"));
    CHECK(hp->n_embd == 768 && hp->n_layer == 12 && hp->n_head == 12 && hp->n_head_kv == 12 && hp->n_ctx_train == 1024);
    CHECK(hp->n_ff == 3072 && hp->head_dim == 64 && hp->norm_eps == 1e-5);
    CHECK(hp->rope_style == OWL_ROPE_NONE && hp->n_rot == 0 && hp->tied_embeddings == 1); /* GPT2Config ties */
    owl_model_close(m);

    /* GPT-NeoX: rotary_pct of the head, rotary_emb_base */
    m = config("{\"model_type\":\"gpt_neox\",\"hidden_size\":512,\"num_attention_heads\":8,\"rotary_pct\":0.25,"
               "\"rotary_emb_base\":10000,\"layer_norm_eps\":1e-5,\"intermediate_size\":2048}",
               &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "gptneox") && m->info.hp.n_rot == 16 && m->info.hp.rope_theta == 10000);
    CHECK(m->info.hp.tied_embeddings == 0);
    owl_model_close(m);

    /* BLOOM: ALiBi, no rotary */
    m = config("{\"model_type\":\"bloom\",\"hidden_size\":64,\"n_head\":8}", &st, &err);
    CHECK(st == OWL_OK && m->info.hp.rope_style == OWL_ROPE_NONE && m->info.hp.n_ff == 256);
    owl_model_close(m);
}

static void test_tie_defaults(void) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = config("{\"model_type\":\"gemma\",\"hidden_size\":2048,\"num_attention_heads\":8,\"head_dim\":256}",
                          &st, &err);
    CHECK(st == OWL_OK && m->info.hp.tied_embeddings == 1 && m->info.hp.head_dim == 256);
    owl_model_close(m);
    m = config("{\"model_type\":\"gemma2\",\"tie_word_embeddings\":false}", &st, &err);
    CHECK(st == OWL_OK && m->info.hp.tied_embeddings == 0);
    owl_model_close(m);
    m = config("{\"model_type\":\"llama\"}", &st, &err);
    CHECK(st == OWL_OK && m->info.hp.tied_embeddings == 0);
    owl_model_close(m);
    m = config("{\"model_type\":\"qwen2\",\"sliding_window\":4096,\"use_sliding_window\":false}", &st, &err);
    CHECK(st == OWL_OK && m->info.hp.sliding_window == 0 && !strcmp(m->info.family, "qwen2"));
    owl_model_close(m);
    m = config("{\"model_type\":\"cohere\"}", &st, &err);
    CHECK(st == OWL_OK && m->info.hp.tied_embeddings == 1 && !strcmp(m->info.family, "command-r"));
    owl_model_close(m);
}

static void test_other_families(void) {
    owl_error err = {0};
    owl_status st;
    /* DeepSeek V3: MLA head = nope + rope, rotary on qk_rope_head_dim, routed experts */
    owl_model *m = config("{\"architectures\":[\"DeepseekV3ForCausalLM\"],\"model_type\":\"deepseek_v3\","
                          "\"hidden_size\":7168,\"num_attention_heads\":128,\"num_key_value_heads\":128,"
                          "\"kv_lora_rank\":512,\"qk_nope_head_dim\":128,\"qk_rope_head_dim\":64,"
                          "\"n_routed_experts\":256,\"num_experts_per_tok\":8,\"rope_scaling\":{\"factor\":40,"
                          "\"type\":\"yarn\"}}",
                          &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "deepseek2") && m->info.hp.kv_lora_rank == 512 && m->info.hp.head_dim == 192);
    CHECK(m->info.hp.n_rot == 64 && m->info.hp.n_expert == 256 && m->info.hp.n_expert_used == 8);
    CHECK(m->info.hp.rope_scale == 40);
    owl_model_close(m);

    /* Gemma 3 multimodal: the language model's values sit in text_config */
    m = config("{\"architectures\":[\"Gemma3ForConditionalGeneration\"],\"model_type\":\"gemma3\","
               "\"text_config\":{\"model_type\":\"gemma3_text\",\"hidden_size\":2560,\"num_hidden_layers\":34,"
               "\"num_attention_heads\":8,\"num_key_value_heads\":4,\"head_dim\":256,\"sliding_window\":1024},"
               "\"vision_config\":{\"hidden_size\":1152},\"eos_token_id\":[1,106]}",
               &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "gemma3") && m->info.hp.n_embd == 2560 && m->info.hp.n_layer == 34);
    CHECK(m->info.hp.head_dim == 256 && m->info.hp.sliding_window == 1024 && m->info.hp.tied_embeddings == 1);
    CHECK(special(m, "eos") && special(m, "eos")->id == 1);
    owl_model_close(m);

    /* Mixtral experts; an unknown model_type falls back to the class name */
    m = config("{\"architectures\":[\"Qwen3MoeForCausalLM\"],\"model_type\":\"qwen3_moe_custom\","
               "\"num_experts\":128,\"num_experts_per_tok\":8}",
               &st, &err);
    CHECK(st == OWL_OK && !strcmp(m->info.family, "qwen3moe") && m->info.hp.n_expert == 128);
    owl_model_close(m);
    m = config("{\"architectures\":[\"SomethingNew\"],\"model_type\":\"zzz\",\"hidden_size\":8}", &st, &err);
    CHECK(st == OWL_OK && !strcmp(m->info.family, "unknown") && m->info.hp.rope_style == OWL_ROPE_NONE);
    owl_model_close(m);
    /* partial rotary (StableLM, Phi-2) */
    m = config("{\"model_type\":\"stablelm\",\"hidden_size\":2560,\"num_attention_heads\":32,"
               "\"partial_rotary_factor\":0.25}",
               &st, &err);
    CHECK(st == OWL_OK && m->info.hp.head_dim == 80 && m->info.hp.n_rot == 20);
    owl_model_close(m);
}

static void test_bad_values(void) {
    expect_bad("{\"hidden_size\":\"abc\"}", "config.json: hidden_size: expected an integer from 1 to 2147483648, "
                                            "found string \"abc\"");
    expect_bad("{\"hidden_size\":-5}", "hidden_size: expected an integer from 1 to 2147483648, found -5");
    expect_bad("{\"hidden_size\":9223372036854775808}", "hidden_size: expected an integer from 1 to 2147483648, "
                                                        "found 9.22337e+18");
    expect_bad("{\"hidden_size\":9223372036854775807}", "found 9223372036854775807");
    expect_bad("{\"num_hidden_layers\":1.5}", "num_hidden_layers: expected an integer");
    expect_bad("{\"n_layer\":true}", "n_layer: expected an integer from 1 to 2147483648, found true");
    expect_bad("{\"rms_norm_eps\":\"1e-5\"}", "rms_norm_eps: expected a number from 0 to 1");
    expect_bad("{\"model_type\":\"llama\",\"rope_theta\":-1}", "rope_theta: expected a number from 1 to 1e+15");
    expect_bad("{\"model_type\":\"llama\",\"rope_scaling\":4}", "rope_scaling: expected an object or null, found 4");
    expect_bad("{\"model_type\":\"llama\",\"rope_scaling\":{\"factor\":0}}", "rope_scaling.factor");
    expect_bad("{\"num_attention_heads\":8,\"num_key_value_heads\":3}",
               "num_attention_heads 8 is not a multiple of num_key_value_heads 3");
    expect_bad("{\"num_attention_heads\":2,\"num_key_value_heads\":4}", "4 key/value heads but only 2");
    expect_bad("{\"hidden_size\":100,\"num_attention_heads\":3}", "hidden size 100 is not a multiple of 3 heads");
    expect_bad("{\"tie_word_embeddings\":\"yes\"}", "tie_word_embeddings: expected true or false, found string");
    expect_bad("{\"architectures\":\"LlamaForCausalLM\"}", "architectures: expected a list of class names");
    expect_bad("{\"architectures\":[7]}", "architectures[0]: expected a class name, found 7");
    expect_bad("{\"model_type\":[\"llama\"]}", "model_type: expected a string, found an array");
    expect_bad("{\"eos_token_id\":\"2\"}", "eos_token_id: expected an integer");
    expect_bad("{\"text_config\":[]}", "text_config: expected an object, found an array");
    expect_bad("{\"num_experts\":2,\"num_experts_per_tok\":4}", "4 experts used per token but only 2 experts");
    expect_bad("[1]", "config.json: expected a JSON object, found an array");
    expect_bad("{\"hidden_size\":", "config.json: not valid JSON");
    expect_bad("{\"a\":1,\"a\":2}", "duplicate");
}

static void test_names(void) {
    static const struct {
        const char *hf, *family, *owl;
        int mapped;
    } cases[] = {
        {"model.embed_tokens.weight", "llama", "token_embd.weight", 1},
        {"model.norm.weight", "llama", "output_norm.weight", 1},
        {"lm_head.weight", NULL, "output.weight", 1},
        {"model.layers.12.self_attn.o_proj.weight", "llama", "blk.12.attn_output.weight", 1},
        {"model.layers.0.self_attn.k_proj.bias", "qwen2", "blk.0.attn_k.bias", 1},
        {"model.layers.3.mlp.gate_proj.weight", "llama", "blk.3.ffn_gate.weight", 1},
        {"model.layers.3.post_attention_layernorm.weight", "llama", "blk.3.ffn_norm.weight", 1},
        {"model.layers.3.post_attention_layernorm.weight", "gemma2", "blk.3.post_attention_norm.weight", 1},
        {"model.layers.3.post_attention_layernorm.weight", "olmo2", "blk.3.post_attention_norm.weight", 1},
        {"model.layers.3.pre_feedforward_layernorm.weight", "gemma3", "blk.3.ffn_norm.weight", 1},
        {"model.layers.3.post_feedforward_layernorm.weight", "gemma3", "blk.3.post_ffw_norm.weight", 1},
        {"model.layers.1.self_attn.q_norm.weight", "qwen3", "blk.1.attn_q_norm.weight", 1},
        {"model.layers.7.block_sparse_moe.experts.5.w1.weight", "llama", "blk.7.ffn_gate.5.weight", 1},
        {"model.layers.7.block_sparse_moe.experts.5.w2.weight", "llama", "blk.7.ffn_down.5.weight", 1},
        {"model.layers.7.block_sparse_moe.experts.5.w3.weight", "llama", "blk.7.ffn_up.5.weight", 1},
        {"model.layers.7.block_sparse_moe.gate.weight", "llama", "blk.7.ffn_gate_inp.weight", 1},
        {"model.layers.2.mlp.experts.63.down_proj.weight", "qwen3moe", "blk.2.ffn_down.63.weight", 1},
        {"model.layers.2.mlp.gate.weight", "qwen3moe", "blk.2.ffn_gate_inp.weight", 1},
        {"model.layers.2.mlp.gate.e_score_correction_bias", "deepseek2", "blk.2.exp_probs_b.bias", 1},
        {"model.layers.2.self_attn.kv_a_proj_with_mqa.weight", "deepseek2", "blk.2.attn_kv_a_mqa.weight", 1},
        {"transformer.h.0.attn.c_attn.weight", "gpt2", "blk.0.attn_qkv.weight", 1},
        {"h.11.mlp.c_proj.bias", "gpt2", "blk.11.ffn_down.bias", 1},
        {"transformer.h.0.ln_1.weight", "gpt2", "blk.0.attn_norm.weight", 1},
        {"transformer.h.0.ln_2.weight", "gpt2", "blk.0.ffn_norm.weight", 1},
        {"transformer.h.0.mlp.c_fc.weight", "gpt2", "blk.0.ffn_up.weight", 1},
        {"transformer.h.0.attn.c_proj.weight", "gpt2", "blk.0.attn_output.weight", 1},
        {"transformer.wte.weight", "gpt2", "token_embd.weight", 1},
        {"wpe.weight", "gpt2", "position_embd.weight", 1},
        {"transformer.ln_f.bias", "gpt2", "output_norm.bias", 1},
        {"gpt_neox.layers.5.attention.query_key_value.weight", "gptneox", "blk.5.attn_qkv.weight", 1},
        {"gpt_neox.layers.5.attention.dense.bias", "gptneox", "blk.5.attn_output.bias", 1},
        {"gpt_neox.layers.5.mlp.dense_h_to_4h.weight", "gptneox", "blk.5.ffn_up.weight", 1},
        {"gpt_neox.layers.5.mlp.dense_4h_to_h.weight", "gptneox", "blk.5.ffn_down.weight", 1},
        {"gpt_neox.layers.5.input_layernorm.weight", "gptneox", "blk.5.attn_norm.weight", 1},
        {"gpt_neox.layers.5.post_attention_layernorm.weight", "gptneox", "blk.5.ffn_norm.weight", 1},
        {"gpt_neox.embed_in.weight", "gptneox", "token_embd.weight", 1},
        {"gpt_neox.final_layer_norm.weight", "gptneox", "output_norm.weight", 1},
        {"embed_out.weight", "gptneox", "output.weight", 1},
        {"transformer.h.2.self_attention.query_key_value.weight", "bloom", "blk.2.attn_qkv.weight", 1},
        {"language_model.model.layers.0.self_attn.q_proj.weight", "gemma3", "blk.0.attn_q.weight", 1},
        {"model.language_model.embed_tokens.weight", "gemma3", "token_embd.weight", 1},
        /* kept as found */
        {"gpt_neox.layers.5.attention.rotary_emb.inv_freq", "gptneox", "gpt_neox.layers.5.attention.rotary_emb.inv_freq", 0},
        {"vision_tower.blocks.0.attn.weight", "gemma3", "vision_tower.blocks.0.attn.weight", 0},
        {"model.layers.01.self_attn.q_proj.weight", "llama", "model.layers.01.self_attn.q_proj.weight", 0},
        {"model.layers.x.self_attn.q_proj.weight", "llama", "model.layers.x.self_attn.q_proj.weight", 0},
        {"model.layers.0.self_attn.q_proj.", "llama", "model.layers.0.self_attn.q_proj.", 0},
        {"", NULL, "", 0},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = owl_hf_tensor_name(cases[i].hf, cases[i].family, out, sizeof out);
        CHECK(r == cases[i].mapped && !strcmp(out, cases[i].owl), "%s -> %s (%d)", cases[i].hf, out, r);
    }
    char small[8];
    CHECK(owl_hf_tensor_name("model.embed_tokens.weight", NULL, small, sizeof small) == -1 && small[0] == '\0');
    CHECK(owl_hf_tensor_name("abcdefghij", NULL, small, sizeof small) == -1);

    static const char *const fam[][2] = {
        {"llama", "llama"},         {"mistral", "llama"},     {"mixtral", "llama"},        {"qwen2", "qwen2"},
        {"qwen2_moe", "qwen2moe"},  {"qwen3", "qwen3"},       {"qwen3_moe", "qwen3moe"},   {"gemma", "gemma"},
        {"gemma2", "gemma2"},       {"gemma3", "gemma3"},     {"phi3", "phi3"},            {"olmo2", "olmo2"},
        {"gpt_neox", "gptneox"},    {"cohere", "command-r"},  {"stablelm", "stablelm"},    {"starcoder2", "starcoder2"},
        {"bloom", "bloom"},         {"deepseek_v2", "deepseek2"}, {"deepseek_v3", "deepseek2"}, {"llama4", "llama4"},
        {"gpt2", "gpt2"},           {"nonesuch", "unknown"},
    };
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++)
        CHECK(!strcmp(owl_family_from_hf(fam[i][0]), fam[i][1]), "%s", fam[i][0]);
    CHECK(!strcmp(owl_family_from_hf(NULL), "unknown"));
    CHECK(!strcmp(owl_family_from_hf_class("GPTNeoXForCausalLM"), "gptneox"));
    CHECK(!strcmp(owl_family_from_hf_class("GPT2LMHeadModel"), "gpt2"));
    CHECK(!strcmp(owl_family_from_hf_class("Qwen2MoeForCausalLM"), "qwen2moe"));
    CHECK(!strcmp(owl_family_from_hf_class("For"), "unknown"));
}

static owl_model *readme(const char *text, owl_status *st) {
    owl_model *m = owl_model_new();
    owl_error err = {0};
    *st = owl_hf_readme_parse(m, text, strlen(text), "README.md", &err);
    return m;
}

static void test_readme(void) {
    owl_status st;
    owl_model *m = readme("---\n"
                          "language:\n- en\n- ti\n"
                          "license: other   # see below\n"
                          "license_name: \"llama3.2\"\n"
                          "license_link: https://www.llama.com/llama3_2/license/\n"
                          "base_model:\n"
                          "  - meta-llama/Llama-3.2-1B\n"
                          "  - 'org/it''s-model'\n"
                          "tags:\n  - text-generation\n"
                          "datasets: [HuggingFaceFW/fineweb-edu, \"allenai/dolma\"]\n"
                          "model-index:\n  - name: x\n    results: []\n"
                          "---\n# Model card\nlicense: not-this\n",
                          &st);
    const owl_license_info *l = &m->info.license;
    CHECK(st == OWL_OK);
    CHECK(l->license && !strcmp(l->license, "other"), "%s", l->license ? l->license : "(null)");
    CHECK(l->license_name && !strcmp(l->license_name, "llama3.2"));
    CHECK(l->license_link && !strcmp(l->license_link, "https://www.llama.com/llama3_2/license/"));
    CHECK(l->n_base_models == 2 && !strcmp(l->base_models[0], "meta-llama/Llama-3.2-1B") &&
          !strcmp(l->base_models[1], "org/it's-model"));
    CHECK(l->n_datasets == 2 && !strcmp(l->datasets[0], "HuggingFaceFW/fineweb-edu") &&
          !strcmp(l->datasets[1], "allenai/dolma"));
    CHECK(l->source && !strcmp(l->source, "README.md"));
    owl_model_close(m);

    /* CRLF, a single base_model and dataset, a BOM */
    m = readme("\xEF\xBB\xBF---\r\nlicense: apache-2.0\r\nbase_model: Qwen/Qwen2.5-0.5B\r\ndatasets: tatsu-lab/alpaca\r\n---\r\n",
               &st);
    l = &m->info.license;
    CHECK(l->license && !strcmp(l->license, "apache-2.0"));
    CHECK(l->n_base_models == 1 && !strcmp(l->base_models[0], "Qwen/Qwen2.5-0.5B"));
    CHECK(l->n_datasets == 1 && !strcmp(l->datasets[0], "tatsu-lab/alpaca"));
    owl_model_close(m);

    /* no front matter, one never closed, an empty value */
    m = readme("# Title\nlicense: mit\n", &st);
    CHECK(st == OWL_OK && !m->info.license.license && !m->info.license.source);
    owl_model_close(m);
    m = readme("---\nlicense: mit\n", &st);
    CHECK(st == OWL_OK && !m->info.license.license);
    owl_model_close(m);
    m = readme("---\nlicense:\nlicense_name: ~\n---\n", &st);
    CHECK(st == OWL_OK && !m->info.license.license && !m->info.license.license_name);
    owl_model_close(m);
    m = readme("", &st);
    CHECK(st == OWL_OK && !m->info.license.license);
    owl_model_close(m);
}

static owl_model *tokenizer_config(const char *text, owl_status *st, owl_error *err) {
    owl_model *m = owl_model_new();
    *st = owl_hf_tokenizer_config_parse(m, text, strlen(text), "tokenizer_config.json", err);
    return m;
}

static void test_tokenizer_config(void) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = tokenizer_config("{\"add_bos_token\":true,\"add_eos_token\":false,\"bos_token\":{\"content\":\"<s>\"},"
                                    "\"chat_template\":\"{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}\","
                                    "\"model_max_length\":1000000000000000019884624838656,"
                                    "\"added_tokens_decoder\":{\"0\":{\"content\":\"<unk>\"}}}",
                                    &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(m->info.tokenizer.add_bos == 1 && m->info.tokenizer.add_eos == 0);
    CHECK(m->info.chat_template && !strncmp(m->info.chat_template, "{{ bos_token }}", 15));
    json_t *tc = json_object_get(m->metadata, "tokenizer_config");
    CHECK(tc && !json_object_get(tc, "added_tokens_decoder") && json_object_get(tc, "model_max_length"));
    owl_model_close(m);

    m = tokenizer_config("{\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"T\"},"
                         "{\"name\":\"default\",\"template\":\"D\"},{\"name\":\"rag\",\"template\":\"R\"}]}",
                         &st, &err);
    CHECK(st == OWL_OK && m->info.chat_template && !strcmp(m->info.chat_template, "D"));
    owl_model_close(m);
    m = tokenizer_config("{\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"T\"},{\"name\":\"rag\",\"template\":\"R\"}]}",
                         &st, &err);
    CHECK(st == OWL_OK && m->info.chat_template && !strcmp(m->info.chat_template, "T"));
    owl_model_close(m);
    m = tokenizer_config("{\"chat_template\":[{\"name\":\"x\"}]}", &st, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, "chat_template[0]: expected {\"name\": string, \"template\": string}"),
          "%s", err.message);
    owl_model_close(m);
    m = tokenizer_config("{\"chat_template\":5}", &st, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, "chat_template: expected a string or a list"), "%s", err.message);
    owl_model_close(m);
    m = tokenizer_config("{\"add_bos_token\":1}", &st, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, "add_bos_token: expected true or false, found 1"), "%s", err.message);
    owl_model_close(m);
    m = tokenizer_config("{\"eos_token\":{\"text\":\"</s>\"}}", &st, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, "eos_token: expected a string or {\"content\": string}"), "%s",
          err.message);
    owl_model_close(m);
}

static owl_model *real_config(const char *rel, owl_status *st, owl_error *err) {
    char *text = NULL;
    size_t len = 0;
    owl_model *m = owl_model_new();
    *st = owl_read_small_file(shared_path(rel), OWL_MAX_CONFIG_BYTES, &text, &len, err);
    if (*st == OWL_OK) *st = owl_hf_config_parse(m, text, len, rel, err);
    free(text);
    return m;
}

static void test_real_configs(void) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = real_config("tokenizers/smollm2-135m/config.json", &st, &err);
    const owl_hparams *hp = &m->info.hp;
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "llama") && !strcmp(m->info.architecture, "LlamaForCausalLM"));
    CHECK(hp->n_embd == 576 && hp->n_layer == 30 && hp->n_head == 9 && hp->n_head_kv == 3 && hp->n_ff == 1536);
    CHECK(hp->n_vocab == 49152 && hp->n_ctx_train == 8192 && hp->head_dim == 64 && hp->rope_theta == 100000);
    CHECK(hp->tied_embeddings == 1 && hp->rope_scale == 0 && hp->norm_eps == 1e-5);
    CHECK(special(m, "bos") && special(m, "bos")->id == 0 && special(m, "eos")->id == 0);
    owl_model_close(m);

    m = real_config("tokenizers/phi3-mini-128k-config/config.json", &st, &err);
    hp = &m->info.hp;
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "phi3") && !strcmp(m->info.architecture, "Phi3ForCausalLM"));
    CHECK(hp->n_embd == 3072 && hp->n_layer == 32 && hp->n_head == 32 && hp->n_head_kv == 32 && hp->n_ff == 8192);
    CHECK(hp->n_vocab == 32064 && hp->n_ctx_train == 131072 && hp->sliding_window == 262144 && hp->head_dim == 96);
    CHECK(hp->tied_embeddings == 0 && hp->rope_style == OWL_ROPE_HALVES && hp->rope_scale == 0); /* longrope: no factor */
    CHECK(special(m, "bos")->id == 1 && special(m, "eos")->id == 32000 && special(m, "pad")->id == 32000);
    owl_model_close(m);

    /* OLMo 1's own config names: d_model, n_heads, n_layers, max_sequence_length, weight_tying, rope: false */
    m = real_config("tokenizers/olmo-test-model/config.json", &st, &err);
    hp = &m->info.hp;
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(!strcmp(m->info.family, "olmo") && !strcmp(m->info.architecture, "OLMoForCausalLM"));
    CHECK(hp->n_embd == 32 && hp->n_layer == 1 && hp->n_head == 1 && hp->n_vocab == 50257 && hp->n_ctx_train == 1024);
    CHECK(hp->n_ff == 128 && hp->tied_embeddings == 1 && hp->rope_style == OWL_ROPE_NONE && hp->norm_eps == 1e-5);
    CHECK(special(m, "eos")->id == 50256 && special(m, "pad")->id == 50256);
    owl_model_close(m);
}

/* A directory holding only config.json + tokenizer.json still describes the model. */
static void test_config_dirs(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    CHECK(owl_model_open(shared_path("tokenizers/smollm2-135m"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        CHECK(m->info.format == OWL_FORMAT_HF_DIR && !strcmp(m->info.family, "llama") && m->info.n_tensors == 0);
        CHECK(m->info.tokenizer.n_vocab == 49152 && m->info.hp.n_vocab == 49152);
        CHECK(m->info.name && !strcmp(m->info.name, "smollm2-135m"));
        owl_model_close(m);
    }
    CHECK(owl_model_open(shared_path("tokenizers/phi3-mini-128k-config"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        CHECK(!strcmp(m->info.family, "phi3") && m->info.tokenizer.add_bos == 0 && m->info.tokenizer.add_eos == 0);
        owl_model_close(m);
    }
}

int main(void) {
    RUN(test_llama);
    RUN(test_gpt2_names);
    RUN(test_tie_defaults);
    RUN(test_other_families);
    RUN(test_bad_values);
    RUN(test_names);
    RUN(test_readme);
    RUN(test_tokenizer_config);
    RUN(test_real_configs);
    RUN(test_config_dirs);
    DONE("test_hf_config");
}
