/* test_engine_mmap.c: a 1.1B-parameter model (TinyLlama's shape, F16, 2.2 GB)
 * opens and binds for inference without its weights being read into new
 * memory: they are used in place from the mapping. The file is written
 * sparse (all-zero tensors are holes), so the test needs no real download
 * and almost no disk. The second load is timed and printed, not asserted. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "formats/gguf.h"
#include "harness.h"
#include "testfiles.h"

static owl_gguf_kv kv_u32(const char *key, uint32_t v) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_U32}, 0};
    kv.value.u = v;
    return kv;
}
static owl_gguf_kv kv_f32(const char *key, double v) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_F32}, 0};
    kv.value.f = v;
    return kv;
}
static owl_gguf_kv kv_str(const char *key, const char *v) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_STRING}, 0};
    kv.value.s = (owl_strview){v, strlen(v)};
    return kv;
}

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { VOCAB = 32000, EMBD = 2048, FF = 5632, LAYERS = 22, HEADS = 32, KV_HEADS = 4, HEAD_DIM = 64 };

static owl_gguf_out_tensor tensor(const char *name, int n_dims, uint64_t ne0, uint64_t ne1, uint32_t type) {
    owl_gguf_out_tensor t = {{name, strlen(name)}, (uint32_t)n_dims, {ne0, ne1, 1, 1}, type, NULL, 0};
    t.n_bytes = ne0 * ne1 * (type == OWL_F16 ? 2 : 4);
    return t;
}

static void test_tinyllama_shape_in_place(void) {
    tmpdir_create("owl-mmap");
    const char *path = tmp_path("tinyllama-shape.gguf");
    owl_gguf_kv kv[] = {
        kv_str("general.architecture", "llama"),     kv_str("general.name", "tinyllama-1.1b-shape-zeros"),
        kv_u32("llama.context_length", 2048),        kv_u32("llama.embedding_length", EMBD),
        kv_u32("llama.block_count", LAYERS),         kv_u32("llama.feed_forward_length", FF),
        kv_u32("llama.attention.head_count", HEADS), kv_u32("llama.attention.head_count_kv", KV_HEADS),
        kv_u32("llama.rope.dimension_count", HEAD_DIM), kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
        kv_f32("llama.rope.freq_base", 10000.0),
    };
    static char names[LAYERS * 9][64];
    owl_gguf_out_tensor t[3 + LAYERS * 9];
    size_t n = 0, k = 0;
    t[n++] = tensor("token_embd.weight", 2, EMBD, VOCAB, OWL_F16);
    t[n++] = tensor("output_norm.weight", 1, EMBD, 1, OWL_F32);
    t[n++] = tensor("output.weight", 2, EMBD, VOCAB, OWL_F16);
    for (int l = 0; l < LAYERS; l++) {
        static const struct { const char *base; int dims; uint64_t ne0, ne1; uint32_t type; } per[] = {
            {"attn_norm", 1, EMBD, 1, OWL_F32},
            {"attn_q", 2, EMBD, HEADS * HEAD_DIM, OWL_F16},
            {"attn_k", 2, EMBD, KV_HEADS * HEAD_DIM, OWL_F16},
            {"attn_v", 2, EMBD, KV_HEADS * HEAD_DIM, OWL_F16},
            {"attn_output", 2, HEADS * HEAD_DIM, EMBD, OWL_F16},
            {"ffn_norm", 1, EMBD, 1, OWL_F32},
            {"ffn_gate", 2, EMBD, FF, OWL_F16},
            {"ffn_up", 2, EMBD, FF, OWL_F16},
            {"ffn_down", 2, FF, EMBD, OWL_F16},
        };
        for (size_t i = 0; i < sizeof per / sizeof per[0]; i++, k++) {
            snprintf(names[k], sizeof names[k], "blk.%d.%s.weight", l, per[i].base);
            t[n++] = tensor(names[k], per[i].dims, per[i].ne0, per[i].ne1, per[i].type);
        }
    }
    owl_error err = {0};
    CHECK(owl_gguf_write(path, 3, kv, sizeof kv / sizeof kv[0], t, n, 32, &err) == OWL_OK, "%s", err.message);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size > 2000000000ll, "the file holds 2.2 GB of weights");
    printf("  %s: %.2f GB, %.1f MB on disk (sparse)\n", path, (double)sb.st_size / 1e9, (double)sb.st_blocks * 512 / 1e6);

    for (int load = 1; load <= 2; load++) {
        uint64_t before = rss_bytes();
        double t0 = now();
        owl_model *m = NULL;
        owl_engine *e = NULL;
        owl_engine_params p = owl_engine_default_params();
        p.n_ctx = 64;
        p.n_batch = 4;
        p.n_threads = 2;
        CHECK(owl_model_open(path, &m, &err) == OWL_OK, "%s", err.message);
        if (m) CHECK(owl_engine_new(m, &p, &e, &err) == OWL_OK, "%s", err.message);
        double dt = now() - t0;
        uint64_t grown = rss_bytes() - before;
        const owl_model_info *in = m ? owl_model_get_info(m) : NULL;
        uint64_t params = 0;
        for (size_t i = 0; in && i < in->n_tensors; i++) params += in->tensors[i].n_elements;
        CHECK(params > 1000000000ull, "parameters: %llu", (unsigned long long)params);
        CHECK(e && owl_engine_n_vocab(e) == VOCAB);
        /* the weights stay in the page cache's mapping: far below the 2.2 GB file */
        CHECK(grown < (64u << 20), "load %d: RSS grew by %.1f MB", load, (double)grown / 1e6);
        printf("  load %d: open + bind %.1f ms, RSS grew %.1f MB for %.2f GB of weights\n", load, dt * 1e3,
               (double)grown / 1e6, (double)sb.st_size / 1e9);
        owl_engine_free(e);
        owl_model_close(m);
    }
    unlink(path);
    tmpdir_remove();
}

int main(void) {
    RUN(test_tinyllama_shape_in_place);
    DONE("test_engine_mmap");
}
