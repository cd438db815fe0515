/* owl.h: the public interface of libowl.
 * One header, plain structs, no dependencies. Everything a verb of the
 * `owl` command does goes through a call declared here. */
#ifndef OWL_H
#define OWL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OWL_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------
 * Every fallible call takes an owl_error* (may be NULL) and returns an
 * owl_status. The message names the file, the byte offset or field, what was
 * expected and what was found. */
typedef enum owl_status {
    OWL_OK = 0,
    OWL_ERR_INPUT = 1,       /* malformed or hostile input */
    OWL_ERR_USAGE = 2,       /* bad arguments from the caller */
    OWL_ERR_IO = 3,          /* open/read/write failed */
    OWL_ERR_NOMEM = 4,       /* allocation failed or above a cap */
    OWL_ERR_UNSUPPORTED = 5, /* valid input that owl cannot handle (yet) */
    OWL_ERR_DENIED = 6,      /* refused by a licence policy or a failed signature */
} owl_status;

typedef struct owl_error {
    owl_status status;
    char message[1024];
} owl_error;

/* ---- tensor element types ----------------------------------------------
 * Ids are ggml's, so GGUF type fields map one to one. */
typedef enum owl_dtype {
    OWL_F32 = 0, OWL_F16 = 1, OWL_Q4_0 = 2, OWL_Q4_1 = 3,
    OWL_Q5_0 = 6, OWL_Q5_1 = 7, OWL_Q8_0 = 8, OWL_Q8_1 = 9,
    OWL_Q2_K = 10, OWL_Q3_K = 11, OWL_Q4_K = 12, OWL_Q5_K = 13,
    OWL_Q6_K = 14, OWL_Q8_K = 15, OWL_IQ2_XXS = 16, OWL_IQ2_XS = 17,
    OWL_IQ3_XXS = 18, OWL_IQ1_S = 19, OWL_IQ4_NL = 20, OWL_IQ3_S = 21,
    OWL_IQ2_S = 22, OWL_IQ4_XS = 23, OWL_I8 = 24, OWL_I16 = 25,
    OWL_I32 = 26, OWL_I64 = 27, OWL_F64 = 28, OWL_IQ1_M = 29,
    OWL_BF16 = 30, OWL_TQ1_0 = 34, OWL_TQ2_0 = 35, OWL_MXFP4 = 39,
    /* not ggml types: element types of safetensors files */
    OWL_U8 = 100,
    OWL_DTYPE_LIMIT = 101
} owl_dtype;

/* Name of a dtype id ("Q4_K"); for ids ggml removed, their old name; NULL if unknown. */
const char *owl_dtype_name(int dtype);
/* 1 if owl can size tensors of this type (block and byte size known). */
int owl_dtype_is_sized(int dtype);
/* Bytes needed by n_elements of dtype; OWL_ERR_INPUT if n is not a whole
 * number of blocks or the product overflows. */
owl_status owl_dtype_bytes(int dtype, uint64_t n_elements, uint64_t *bytes);

/* ---- the model description ---------------------------------------------
 * Whatever the file format, loading yields this description. Tensors carry
 * canonical (GGUF-style) names; shapes are in ggml order (ne[0] is the
 * contiguous dimension). Strings and tensor data point into memory owned by
 * the owl_model and stay valid until owl_model_close. */
#define OWL_MAX_DIMS 4

enum owl_tensor_flags {
    OWL_TENSOR_AUX = 1 << 0, /* quantisation scales and the like: not a parameter */
};

typedef struct owl_tensor {
    const char *name;        /* canonical, e.g. "blk.0.attn_q.weight" */
    const char *source_name; /* as written in the file */
    int dtype;
    int n_dims;
    uint64_t ne[OWL_MAX_DIMS];
    uint64_t n_elements;
    uint64_t n_bytes;
    uint64_t offset;         /* byte offset in its file */
    const void *data;        /* mapped, read-only */
    int file;                /* index into owl_model_info.files */
    unsigned flags;
} owl_tensor;

typedef enum owl_rope_style {
    OWL_ROPE_NONE = 0,
    OWL_ROPE_INTERLEAVED = 1, /* pairs (2i, 2i+1): GGUF "NORM", llama2.c, Meta */
    OWL_ROPE_HALVES = 2,      /* pairs (i, i+d/2): GGUF "NEOX", Hugging Face */
} owl_rope_style;

typedef struct owl_hparams {
    int64_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv;
    int64_t head_dim, n_ff, n_expert, n_expert_used, n_rot, sliding_window;
    int64_t kv_lora_rank;     /* MLA (DeepSeek 2/3); 0 otherwise */
    int64_t quant_group_size; /* llama2.c int8 exports; 0 otherwise */
    double norm_eps, rope_theta, rope_scale;
    int rope_style;           /* owl_rope_style */
    int tied_embeddings;      /* 1: output reuses token_embd */
} owl_hparams;

typedef struct owl_special_token {
    const char *role; /* "bos", "eos", "unk", "pad", "sep", "cls", "mask", "eot" */
    int64_t id;
    const char *text; /* may be NULL when the vocabulary is elsewhere */
} owl_special_token;

typedef struct owl_tokenizer_info {
    const char *kind;    /* "llama" (SentencePiece BPE), "gpt2" (byte-level BPE),
                            "bert" (WordPiece), "t5" (Unigram), "rwkv", "none" */
    const char *pre;     /* pre-tokenizer name (tokenizer.ggml.pre) or NULL */
    const char *source;  /* file it was read from */
    int64_t n_vocab;
    int64_t n_merges;
    int64_t n_added;     /* added/special tokens beyond the model vocabulary */
    int add_bos, add_eos; /* 1, 0 or -1 unknown */
    size_t n_special;
    const owl_special_token *special;
    const char *normalizer; /* Unicode normalization form a tokenizer.json asks for ("NFC"), or NULL */
} owl_tokenizer_info;

typedef struct owl_license_info {
    const char *license;      /* SPDX id or model licence name as found */
    const char *license_name;
    const char *license_link;
    const char *source;       /* where it was found */
    size_t n_base_models;
    const char *const *base_models;
    size_t n_datasets;
    const char *const *datasets;
} owl_license_info;

typedef struct owl_source_file {
    const char *path;
    const char *role;  /* "weights", "config", "tokenizer", "adapter", ... */
    uint64_t size;
} owl_source_file;

typedef enum owl_format {
    OWL_FORMAT_GGUF = 1,
    OWL_FORMAT_SAFETENSORS,
    OWL_FORMAT_HF_DIR,
    OWL_FORMAT_LLAMA2C,
    OWL_FORMAT_LLAMA2C_INT8,
    OWL_FORMAT_PEFT_ADAPTER,
    OWL_FORMAT_MLX_ADAPTER,
    OWL_FORMAT_TOKENIZER_JSON,
    OWL_FORMAT_SENTENCEPIECE,
    OWL_FORMAT_LLAMA2C_TOKENIZER,
    OWL_FORMAT_BPE_FILES,
} owl_format;

const char *owl_format_name(owl_format f);

typedef struct owl_adapter_info {
    const char *kind;         /* "lora" */
    int64_t rank;
    double alpha;
    int use_rslora, use_dora, fan_in_fan_out;
    const char *base_model;
    size_t n_targets;
    const char *const *targets;
} owl_adapter_info;

typedef struct owl_model_info {
    owl_format format;
    const char *architecture; /* as the source names it, e.g. "llama", "LlamaForCausalLM" */
    const char *family;       /* owl's family id, e.g. "llama", "qwen2"; "unknown" if none */
    const char *name;         /* general.name or directory name; may be NULL */
    int gguf_version;         /* 0 unless GGUF */
    owl_hparams hp;
    size_t n_tensors;
    const owl_tensor *tensors;
    owl_tokenizer_info tokenizer;
    const char *chat_template; /* NULL when none */
    owl_license_info license;
    const owl_adapter_info *adapter; /* NULL unless an adapter */
    size_t n_files;
    const owl_source_file *files;
} owl_model_info;

typedef struct owl_model owl_model;

/* Opens a model, adapter or tokenizer: a GGUF file, a safetensors file, a
 * Hugging Face model directory, a PEFT/MLX adapter directory, a llama2.c
 * checkpoint, or a tokenizer file. Memory maps; copies nothing large. */
owl_status owl_model_open(const char *path, owl_model **out, owl_error *err);
void owl_model_close(owl_model *m);
const owl_model_info *owl_model_get_info(const owl_model *m);
/* Tensor by canonical name, or NULL. */
const owl_tensor *owl_model_find_tensor(const owl_model *m, const char *name);

/* Metadata key/values as the source holds them (GGUF metadata, config.json),
 * rendered as one JSON object text. Caller frees with free(). */
owl_status owl_model_metadata_json(const owl_model *m, int include_arrays, char **out, owl_error *err);

/* Parameter counts (auxiliary tensors excluded) and total tensor bytes. */
void owl_model_totals(const owl_model *m, uint64_t *params, uint64_t *bytes);

/* Memory to run at n_ctx tokens: weights, KV cache (F16) and work buffers. */
typedef struct owl_memory_estimate {
    uint64_t weights, kv_cache, work, total;
} owl_memory_estimate;
owl_memory_estimate owl_model_memory(const owl_model *m, int64_t n_ctx);

/* ---- inspect -----------------------------------------------------------
 * The whole `owl inspect` report as one JSON document. */
typedef struct owl_inspect_options {
    int64_t n_ctx;     /* for the memory estimate; 0 = training context */
    int hash;          /* add SHA-256 of every source file */
    int all_metadata;  /* include long metadata arrays in full */
} owl_inspect_options;
owl_status owl_inspect_json(const owl_model *m, const owl_inspect_options *opt, char **out, owl_error *err);

/* ---- digests -----------------------------------------------------------
 * SHA-256 of a file, streamed; hex is 65 bytes. The progress callback (may be
 * NULL) is called with bytes done and total. */
typedef void (*owl_progress_fn)(void *ctx, uint64_t done, uint64_t total);
owl_status owl_sha256_file(const char *path, char hex[65], owl_progress_fn progress, void *ctx, owl_error *err);

/* ---- GGUF writing ------------------------------------------------------
 * Writes a model's metadata and tensors (as loaded from a GGUF) to a new
 * GGUF file atomically (temp file, fsync, rename). A GGUF written by
 * llama.cpp round-trips byte for byte. */
owl_status owl_gguf_save(const owl_model *m, const char *path, owl_error *err);

/* ---- tokenizer ---------------------------------------------------------
 * Built from a model's vocabulary (SentencePiece BPE, byte-level BPE with the
 * model's pre-tokenizer, WordPiece); needs nothing from the model afterwards.
 * Encoding matches llama.cpp's and Hugging Face's ids. */
typedef struct owl_tokenizer owl_tokenizer;
owl_status owl_tokenizer_new(const owl_model *m, owl_tokenizer **out, owl_error *err);
void owl_tokenizer_free(owl_tokenizer *t);
/* The vocabulary's text of token id (e.g. "\xe2\x96\x81Hello", "\xc4\xa0world"), NUL-terminated; NULL if out of range. */
const char *owl_token_text(const owl_tokenizer *t, int32_t id, size_t *len);

enum {
    OWL_TOKENIZE_ADD_SPECIAL = 1,   /* BOS/EOS as the model says */
    OWL_TOKENIZE_PARSE_SPECIAL = 2, /* special-token text in the input becomes the special token (HF default) */
};
/* *ids is malloc'd (free() it), even when *n_ids is 0. Input above 256 MiB is refused. */
owl_status owl_tokenize(const owl_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                        size_t *n_ids, owl_error *err);

enum { OWL_DETOKENIZE_SPECIAL = 1 /* render special/control tokens */ };
/* *text is malloc'd and NUL-terminated; ids out of range are an error. */
owl_status owl_detokenize(const owl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text,
                          size_t *len, owl_error *err);

/* Streaming: feed ids one at a time, get back only complete UTF-8 (an
 * unfinished multi-byte sequence is held until its last byte arrives; bytes
 * that can never complete one are passed through). Each *out is malloc'd. */
typedef struct owl_detok_stream owl_detok_stream;
owl_detok_stream *owl_detok_stream_new(const owl_tokenizer *t, unsigned flags);
owl_status owl_detok_stream_push(owl_detok_stream *s, int32_t id, char **out, size_t *len, owl_error *err);
owl_status owl_detok_stream_flush(owl_detok_stream *s, char **out, size_t *len, owl_error *err);
void owl_detok_stream_free(owl_detok_stream *s);

/* ---- inference -----------------------------------------------------------
 * An engine runs the forward pass of an opened model (weights used in place
 * from the mapping) with a KV cache shared by up to n_seq_max sequences. All
 * buffers are planned at creation; decoding allocates nothing. Logits match
 * llama.cpp's for every family owl_engine_new accepts. One engine is used
 * from one thread at a time; it runs its own n_threads. */
typedef enum owl_kv_type { OWL_KV_F16 = 0, OWL_KV_F32 = 1, OWL_KV_Q8_0 = 2 } owl_kv_type;

typedef struct owl_engine_params {
    int n_threads;     /* 0: all cores */
    int64_t n_ctx;     /* KV cells shared by all sequences; 0: min(training context, 4096) */
    int n_seq_max;     /* sequences 0..n_seq_max-1 (at most 64); 0: 1 */
    int kv_type;       /* owl_kv_type; OWL_KV_F16 is the default, as in llama.cpp */
    int64_t n_batch;   /* most tokens one owl_engine_decode takes; 0: min(n_ctx, 512) */
} owl_engine_params;

typedef struct owl_engine owl_engine;

/* Defaults as documented above (all zero). */
owl_engine_params owl_engine_default_params(void);
/* The model must outlive the engine. OWL_ERR_UNSUPPORTED for a family or weight
   type owl cannot run yet; OWL_ERR_INPUT names the tensor whose shape is wrong. */
owl_status owl_engine_new(const owl_model *m, const owl_engine_params *p, owl_engine **out, owl_error *err);
void owl_engine_free(owl_engine *e);

typedef struct owl_batch {
    int64_t n_tokens;
    const int32_t *tokens;  /* ids in [0, n_vocab) */
    const int64_t *pos;     /* positions; NULL: each sequence continues after its last cached position */
    const int32_t *seq;     /* sequence of each token; NULL: all 0 */
    const int8_t *logits;   /* 1 for rows whose logits are wanted; NULL: only the last row */
} owl_batch;

/* Runs the batch: K/V of every token enter the cache, logits of the wanted
   rows are kept until the next decode. On error the cache is unchanged. */
owl_status owl_engine_decode(owl_engine *e, const owl_batch *b, owl_error *err);
/* Logits (n_vocab floats) of batch row `row` of the last decode; NULL if that
   row did not ask for them. */
const float *owl_engine_logits(const owl_engine *e, int64_t row);
int64_t owl_engine_n_vocab(const owl_engine *e);

/* KV edits over positions [p0, p1) of a sequence (p1 < 0: to the end). Copy
   shares the cells (no data moves); drop frees cells no sequence sees. */
owl_status owl_engine_seq_copy(owl_engine *e, int32_t src, int32_t dst, int64_t p0, int64_t p1, owl_error *err);
owl_status owl_engine_seq_drop(owl_engine *e, int32_t seq, int64_t p0, int64_t p1, owl_error *err);
/* Largest cached position of seq, -1 if none. */
int64_t owl_engine_seq_pos_max(const owl_engine *e, int32_t seq);

/* ---- LoRA adapters ---------------------------------------------------------
 * A LoRA adapter is a pair of small matrices per adapted weight: W x becomes
 * W x + scale * s * B (A x), with s = alpha / r (alpha / sqrt(r) with rsLoRA;
 * MLX adapters: their scale; a GGUF LoRA without alpha: 1, as llama.cpp).
 *
 * Row order: Hugging Face checkpoints, and so PEFT and MLX adapters, keep the
 * q and k projection rows in rotate-half order; llama.cpp's converter permutes
 * them for the llama family (llama, deci, baichuan, olmo, deepseek, granite),
 * whose GGUFs rotate interleaved pairs. Per head of head_dim rows:
 * gguf_row(2i) = hf_row(i), gguf_row(2i+1) = hf_row(i + head_dim/2) (k heads
 * counted with n_head_kv). owl brings B's q/k rows into the base's order;
 * A acts on the input side and is never permuted. */

/* Runs an adapter unmerged, in F32 (a PEFT or MLX directory, or a llama.cpp
 * GGUF LoRA, opened with owl_model_open). Every factor is checked against the
 * base weight it targets (OWL_ERR_INPUT names the tensor); adapters stack, and
 * each added one takes the next index (0, 1, ...) so that a per-sequence
 * selection can pick among them later. Add adapters before the first decode:
 * the KV cache is not recomputed. The adapter must outlive the engine. */
owl_status owl_engine_add_lora(owl_engine *e, const owl_model *adapter, float scale, owl_error *err);
/* Adapters added so far. */
int owl_engine_n_loras(const owl_engine *e);

/* A LoRA adapter in memory, as a trainer holds it: the input of the writers
 * below and of owl_engine_add_lora_desc. */
typedef struct owl_lora_tensor {
    const char *target;      /* canonical base weight name, e.g. "blk.0.attn_q.weight" */
    int64_t rank, n_in, n_out;
    const float *a;          /* rank x n_in, row-major */
    const float *b;          /* n_out x rank, row-major, rows in the BASE's layout */
} owl_lora_tensor;

typedef struct owl_lora_desc {
    const char *base_model;  /* base_model_name_or_path for adapter_config.json */
    int64_t rank;
    double alpha, dropout;
    int use_rslora;
    int base_rows_interleaved; /* 1: b rows of q/k are in GGUF's interleaved-rope order (permute for PEFT) */
    int64_t n_head, n_head_kv, head_dim; /* for that permutation */
    const owl_lora_tensor *t;
    size_t n;
    const char *architecture; /* GGUF general.architecture of the base (NULL: "llama") */
} owl_lora_desc;

/* adapter_config.json + adapter_model.safetensors (F32, PEFT's tensor names,
 * q/k rows in rotate-half order) in dir, created if missing; each file
 * written atomically. */
owl_status owl_lora_save_peft(const owl_lora_desc *d, const char *dir, owl_error *err);
/* llama.cpp's GGUF LoRA (general.type "adapter", adapter.type "lora",
 * adapter.lora.alpha; F32 tensors TARGET.lora_a, ne [n_in, r], and
 * TARGET.lora_b, ne [r, n_out], q/k rows in GGUF order), written atomically.
 * rsLoRA is folded into alpha (llama.cpp always divides by r). */
owl_status owl_lora_save_gguf(const owl_lora_desc *d, const char *path, owl_error *err);
/* The description applied as owl_engine_add_lora applies a file (its arrays are copied). */
owl_status owl_engine_add_lora_desc(owl_engine *e, const owl_lora_desc *d, float scale, owl_error *err);

/* Merging: a GGUF base with adapters folded in, W' = W + sum scale * s * B A
 * for each adapted weight (dequantized, added in F32, quantized back to its
 * own type or to dtype); every other tensor and all metadata are copied.
 * Written atomically. */
typedef struct owl_merge_params {
    const owl_model *const *adapters;
    const float *scales;      /* per adapter; NULL: all 1 */
    size_t n_adapters;
    int dtype;                /* type of the merged weights; -1: each keeps its own */
    owl_progress_fn progress; /* tensors done / total; may be NULL */
    void *progress_ctx;
} owl_merge_params;
typedef struct owl_merge_result {
    size_t n_tensors, n_merged;
    uint64_t bytes;           /* of the file written */
} owl_merge_result;
owl_status owl_lora_merge(const owl_model *base, const owl_merge_params *p, const char *path, owl_merge_result *r,
                          owl_error *err);

/* ---- sampling --------------------------------------------------------------
 * From logits to the next token: logit bias, penalties over the last
 * penalty_last_n accepted tokens, top-k, typical-p, top-p, min-p, temperature
 * (llama.cpp's order), then a draw from a seeded generator: the same seed
 * gives the same tokens on any machine and at any thread count. */
typedef struct owl_logit_bias {
    int32_t token;
    float bias; /* added to the logit; -INFINITY bans the token */
} owl_logit_bias;

typedef struct owl_sampler_params {
    float temperature;      /* 0: greedy (lowest id on ties) */
    int top_k;              /* 0: off */
    float top_p, min_p, typical_p; /* 1, 0, 1: off */
    float repeat_penalty;   /* 1: off; logits > 0 divided by it, < 0 multiplied */
    float frequency_penalty, presence_penalty; /* subtracted per occurrence / once */
    int penalty_last_n;     /* window of accepted tokens the penalties see */
    uint64_t seed;
    int n_logit_bias;
    const owl_logit_bias *logit_bias; /* copied */
} owl_sampler_params;

/* llama.cpp's defaults: temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, window 64, seed 0. */
owl_sampler_params owl_sampler_default_params(void);

typedef struct owl_sampler owl_sampler;
owl_status owl_sampler_new(const owl_sampler_params *p, int64_t n_vocab, owl_sampler **out, owl_error *err);
void owl_sampler_free(owl_sampler *s);
/* Back to the seed's first draw, with an empty penalty window. */
void owl_sampler_reset(owl_sampler *s);
/* The next token for these logits (n_vocab floats; not changed), or -1 if either is NULL. */
int32_t owl_sampler_sample(owl_sampler *s, const float *logits);
/* Records a token that became part of the text (prompt or generated) for the penalties. */
void owl_sampler_accept(owl_sampler *s, int32_t token);

/* The distribution the draw is made from: after the chain, the surviving
   candidates by descending probability (p sums to 1). Points into the sampler. */
typedef struct owl_candidate {
    int32_t id;
    float logit;
    float p;
    float score; /* scratch */
} owl_candidate;
int64_t owl_sampler_candidates(owl_sampler *s, const float *logits, owl_candidate **out);

/* Log-probabilities of the model's own distribution (log-softmax of the raw
   logits): the chosen token's, and the n_top best, best first. */
typedef struct owl_token_logprob {
    int32_t id;
    float logprob;
} owl_token_logprob;
void owl_logprobs(const float *logits, int64_t n_vocab, int32_t chosen, int n_top, owl_token_logprob *top,
                  float *chosen_logprob);

/* Stop strings matched across token boundaries: push each piece of
   generated text; *emit gets what can be shown now (text that might begin a
   stop string is held back). Returns 1 once a stop string completed (the
   text before it has been emitted, the stop string is not), 0 otherwise, -1
   out of memory. *emit stays valid until the next call. */
typedef struct owl_stop owl_stop;
owl_status owl_stop_new(const char *const *stops, size_t n, owl_stop **out, owl_error *err);
int owl_stop_push(owl_stop *s, const char *text, size_t len, const char **emit, size_t *n_emit);
/* At the end of generation: the text still held back. */
void owl_stop_flush(owl_stop *s, const char **emit, size_t *n_emit);
void owl_stop_free(owl_stop *s);

/* The model's own sampling defaults over p: generation_config.json, GGUF
   general.sampling.*; do_sample false means greedy. Values out of range are skipped. */
void owl_sampler_model_defaults(const owl_model *m, owl_sampler_params *p);

/* End of generation: the EOS id, or a control token that ends a turn
   (<|eot_id|>, <|im_end|>, <end_of_turn>, <|endoftext|>, ...). */
int owl_token_is_eog(const owl_tokenizer *t, int32_t id);

/* ---- generation ------------------------------------------------------------
 * One sequence's generation loop: the prompt's prefix already in the cache
 * (cached[0..n_cached)) is reused, the rest decoded in batches, then tokens are
 * sampled and their text streamed to on_text (stop strings held back and not
 * emitted) until end of generation, a stop string, n_predict or a cancel. All
 * decoded tokens stay in the cache at positions 0.., so a caller that keeps
 * prompt + result tokens can pass them as `cached` next turn. */
typedef int (*owl_text_fn)(void *ctx, const char *text, size_t len); /* nonzero: stop */
typedef struct owl_generate_params {
    int64_t n_predict;
    const char *const *stops;
    size_t n_stops;
    int ignore_eos;
    int32_t seq;                  /* engine sequence */
    const int32_t *cached;        /* tokens at positions 0.. of seq */
    size_t n_cached;
    int64_t n_batch;              /* prompt tokens per decode; 0: 256 */
    volatile int *cancel;         /* polled every token; may be set from a signal handler */
    int keep_sampler_window;      /* 1: do not feed the prompt to the penalty window */
    /* optional constraint: filter masks logits in place (nonzero: nothing allowed),
       on_token sees every sampled token */
    int (*filter)(void *ctx, float *logits, int64_t n_vocab);
    void (*on_token)(void *ctx, int32_t token);
    void *filter_ctx;
} owl_generate_params;

typedef struct owl_generate_result {
    int64_t n_prompt, n_cached;   /* prompt tokens, of which reused from the cache */
    int32_t *tokens;              /* generated (EOG excluded); caller frees */
    size_t n_tokens;
    const char *stop_reason;      /* "eos", "stop", "length", "cancelled" */
    double prompt_ms, gen_ms;
} owl_generate_result;

/* A rendered chat prompt to tokens: special-token text parsed, and the model's
   leading token (BOS) added unless the template already wrote it. */
owl_status owl_tokenize_chat(const owl_tokenizer *tk, const char *text, size_t len, int32_t **ids, size_t *n,
                             owl_error *err);
owl_generate_params owl_generate_default_params(void);
owl_status owl_generate(owl_engine *e, const owl_tokenizer *tk, owl_sampler *sm, const int32_t *prompt,
                        size_t n_prompt, const owl_generate_params *p, owl_text_fn on_text, void *ctx,
                        owl_generate_result *r, owl_error *err);

/* ---- benchmarks ------------------------------------------------------------
 * Speed as a fraction of what the machine allows: owl_bench_machine measures
 * the ceilings, owl_bench_model the model's tokens/s and what each token
 * costs (bytes of weights read, FLOPs). */
typedef struct owl_bench_params {
    int64_t n_prompt, n_gen; /* pp: one batch of n_prompt tokens; tg: n_gen single steps */
    int n_threads;           /* 0: all cores */
    int reps;                /* repetitions after one warm-up */
    int kv_type;             /* owl_kv_type */
} owl_bench_params;

typedef struct owl_bench_result {
    double pp_tokens_per_s, pp_sd, tg_tokens_per_s, tg_sd;
    uint64_t bytes_per_token; /* weights one generated token reads */
    double flops_per_token;   /* 2 x the matrix parameters a token passes through */
    int n_threads;
    const char *isa;          /* the kernel set used */
} owl_bench_result;

owl_status owl_bench_model(const owl_model *m, const owl_bench_params *p, owl_bench_result *r, owl_error *err);

typedef struct owl_machine_limits {
    double read_bytes_per_s;  /* streaming read over 1 GiB per thread */
    double fma_flops;         /* F32 FMA peak */
    double int8_ops;          /* int8 dot-product peak (VNNI; 0 without it) */
    int n_threads;
    const char *isa;
} owl_machine_limits;

owl_status owl_bench_machine(int n_threads, owl_machine_limits *out, owl_error *err);

/* ---- constrained output: JSON Schema -----------------------------------------
 * A schema compiles once; a matcher follows the bytes generated so far; a
 * trie of the vocabulary, built once per tokenizer, turns the matcher's state
 * into the set of tokens that keep the output valid (EOS only once the value
 * is complete). Compact JSON, properties in the schema's order, strings,
 * numbers and arrays bounded so that a complete value is always reachable. */
typedef struct owl_json_schema owl_json_schema;
typedef struct owl_json_match owl_json_match;
typedef struct owl_token_trie owl_token_trie;
owl_status owl_json_schema_compile(const char *schema_json, owl_json_schema **out, owl_error *err);
void owl_json_schema_free(owl_json_schema *s);
owl_status owl_json_match_new(const owl_json_schema *s, owl_json_match **out, owl_error *err);
void owl_json_match_free(owl_json_match *m);
/* Advances over generated bytes; 0 if they leave the schema (the matcher is then spent). */
int owl_json_match_feed(owl_json_match *m, const char *bytes, size_t n);
/* 1 once the bytes so far are a complete value. */
int owl_json_match_complete(const owl_json_match *m);
owl_status owl_token_trie_new(const owl_tokenizer *t, int64_t n_vocab, owl_token_trie **out, owl_error *err);
void owl_token_trie_free(owl_token_trie *t);
/* allowed[id] = 1 for each token that may come next (n_vocab bytes); returns how many. */
int64_t owl_json_match_allowed(const owl_json_match *m, const owl_token_trie *t, uint8_t *allowed);
/* The bytes token id adds to a text in the middle of it. */
const char *owl_token_piece(const owl_tokenizer *t, int32_t id, size_t *len);

/* ---- constrained output: grammars ----------------------------------------------
 * A GBNF grammar (llama.cpp's dialect: rules, root, | ( ) * + ? {m,n},
 * literals, classes, .) or a regex (compiled to one; the whole output must
 * match) compiles once; a matcher follows the generated bytes with a set of
 * parse stacks, and the token trie above gives the tokens that keep the output
 * inside the grammar (EOS only once it is complete). Errors name line:column. */
typedef struct owl_grammar owl_grammar;
typedef struct owl_grammar_match owl_grammar_match;
owl_status owl_grammar_compile_gbnf(const char *src, size_t len, owl_grammar **out, owl_error *err);
/* literals, escapes, ., classes, \d \w \s \D \W \S, groups, (?:), |, * + ? {m,n}; ^ $ only at the ends */
owl_status owl_grammar_compile_regex(const char *re, size_t len, owl_grammar **out, owl_error *err);
void owl_grammar_free(owl_grammar *g);
owl_status owl_grammar_match_new(const owl_grammar *g, owl_grammar_match **out, owl_error *err);
void owl_grammar_match_free(owl_grammar_match *m);
/* Advances over generated bytes; 0 if they leave the grammar (the matcher is then spent). */
int owl_grammar_match_feed(owl_grammar_match *m, const char *bytes, size_t n);
/* 1 once the bytes so far are a complete match (more may still follow). */
int owl_grammar_match_complete(const owl_grammar_match *m);
/* allowed[id] = 1 for each token that may come next (n_vocab bytes); returns how many.
 * Not const: the matcher keeps scratch states for the walk. */
int64_t owl_grammar_match_allowed(owl_grammar_match *m, const owl_token_trie *t, uint8_t *allowed);

/* One sequence's constraint, whichever kind, as a generation loop uses it:
 * apply masks (sets to -inf) the logits of tokens that would leave it and
 * returns nonzero when no token may follow; accept follows the token chosen.
 * Their signatures are owl_generate_params' filter and on_token (ctx = the
 * mask). Give exactly one of schema and grammar; they and trie must outlive it. */
typedef struct owl_token_mask owl_token_mask;
owl_status owl_token_mask_new(const owl_json_schema *schema, const owl_grammar *grammar, const owl_tokenizer *tk,
                              const owl_token_trie *trie, int64_t n_vocab, owl_token_mask **out, owl_error *err);
void owl_token_mask_free(owl_token_mask *m);
int owl_token_mask_apply(void *mask, float *logits, int64_t n_vocab);
void owl_token_mask_accept(void *mask, int32_t token);

/* ---- chat templates -----------------------------------------------------------
 * A sandboxed interpreter for the Jinja2 subset real chat templates use (as
 * Hugging Face's @huggingface/jinja and jinja2 render them). A template is
 * untrusted code: no I/O, and every render is bounded in steps, nesting and
 * output size; exceeding a bound is an OWL_ERR_INPUT error naming the bound. */
typedef struct owl_template owl_template;
typedef struct owl_template_limits {
    uint64_t max_steps;   /* evaluation steps (loop iterations, calls, ...); 0: 10,000,000 */
    uint32_t max_depth;   /* nesting of calls, macros and expressions; 0: 200 */
    uint64_t max_output;  /* bytes of rendered text; 0: 16 MiB */
} owl_template_limits;

/* Compiles template source; name appears in error messages ("chat_template"). */
owl_status owl_template_compile(const char *source, size_t len, const char *name, owl_template **out,
                                owl_error *err);
void owl_template_free(owl_template *t);
/* Renders with the variables of context_json (a JSON object: messages, tools,
 * add_generation_prompt, bos_token, ...). *out is NUL-terminated, caller frees. */
owl_status owl_template_render(const owl_template *t, const char *context_json, const owl_template_limits *lim,
                               char **out, size_t *out_len, owl_error *err);

/* A conversation rendered the way a model expects: its chat template (or the
 * one given), bos_token/eos_token from its tokenizer, messages and tools as
 * OpenAI-shaped JSON arrays (tools_json may be NULL), extra variables as a
 * JSON object (may be NULL; e.g. {"enable_thinking": false}). */
typedef struct owl_chat_params {
    const char *template_source; /* NULL: the model's chat template */
    const char *messages_json;
    const char *tools_json;
    const char *extra_json;
    int add_generation_prompt;
    const char *bos_token, *eos_token; /* NULL: from the model's tokenizer */
    const owl_template_limits *limits; /* NULL: the defaults */
} owl_chat_params;
owl_status owl_chat_render(const owl_model *m, const owl_chat_params *p, char **out, size_t *out_len,
                           owl_error *err);

/* ---- synthetic models ---------------------------------------------------------
 * Random-weight models of real shapes (TinyLlama-1.1B, Llama-3.2-1B, Qwen3-0.6B,
 * stories110M, a small MoE, a tiny test model) in a given weight type, with a
 * synthetic SentencePiece vocabulary: for benchmarks without downloads. */
owl_status owl_synth(const char *shape, int dtype, uint64_t seed, const char *path, owl_error *err);
/* The i-th shape's name (NULL past the last) and a description. */
const char *owl_synth_shapes(size_t i, const char **description);
/* llama.cpp's file types (llama_ftype, stored as general.file_type). The K
 * recipes (Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M, Q6_K) pick a type per tensor
 * as llama-quantize does; the others put every matrix in one type. */
typedef enum owl_ftype {
    OWL_FTYPE_F32 = 0, OWL_FTYPE_F16 = 1, OWL_FTYPE_Q4_0 = 2, OWL_FTYPE_Q4_1 = 3,
    OWL_FTYPE_Q8_0 = 7, OWL_FTYPE_Q5_0 = 8, OWL_FTYPE_Q5_1 = 9, OWL_FTYPE_Q2_K = 10,
    OWL_FTYPE_Q3_K_S = 11, OWL_FTYPE_Q3_K_M = 12, OWL_FTYPE_Q3_K_L = 13, OWL_FTYPE_Q4_K_S = 14,
    OWL_FTYPE_Q4_K_M = 15, OWL_FTYPE_Q5_K_S = 16, OWL_FTYPE_Q5_K_M = 17, OWL_FTYPE_Q6_K = 18,
    OWL_FTYPE_IQ4_NL = 25, OWL_FTYPE_BF16 = 32,
} owl_ftype;
/* "Q4_K_M" -> OWL_FTYPE_Q4_K_M (exact, upper case); -1 if unknown. */
int owl_ftype_by_name(const char *name);
const char *owl_ftype_name(int ftype); /* NULL if unknown */
/* owl_synth with a file type: a recipe's per-tensor types, or one type. */
owl_status owl_synth_ftype(const char *shape, int ftype, uint64_t seed, const char *path, owl_error *err);

/* ---- serving -------------------------------------------------------------------
 * An OpenAI-compatible HTTP server (owl serve): loopback by default, and any
 * other address only with API keys (a file of ID:KEY lines); bodies capped,
 * slow clients dropped after timeout_s, OpenAI-shaped errors. Every model's
 * weights digest (owl_model_tensor_digest) is computed once at start and sent
 * with each response naming the model (X-Owl-Model-Digest) and in /v1/models.
 * With audit_log, every request but GET /health gets one line (see the audit
 * trail below), written before its response is queued; a request whose line
 * cannot be written is answered 500 instead. */
typedef struct owl_server owl_server;
typedef struct owl_server_params {
    const char *host;              /* IPv4 address; "127.0.0.1" */
    int port;                      /* 8080; 0: any free port */
    const char *api_key_file;      /* NULL: no keys (loopback only) */
    size_t n_models;
    const char *const *model_names, *const *model_paths;
    const char *const *chat_templates; /* per model, NULL entries: the model's own */
    int n_threads;
    int64_t n_ctx;
    size_t max_body;               /* bytes; 1 MiB */
    int timeout_s;                 /* idle connection timeout; 10 */
    int max_connections;           /* 64 */
    int max_queue;                 /* requests waiting for the engine before 429; 64 */
    int request_timeout_s;         /* a generation is ended this long after it was queued; 300 */
    const char *audit_log;         /* NULL: none; else one hash-chained JSON line per request */
    int audit_content;             /* with audit_log: also record prompt and answer text (1 MiB each) */
} owl_server_params;
owl_server_params owl_server_default_params(void);
/* Opens the audit log, loads and hashes the models and starts listening
 * (requests are served from its own threads). */
owl_status owl_server_new(const owl_server_params *p, owl_server **out, owl_error *err);
/* Asks in-flight generations to end (safe from a signal handler); owl_server_free then closes. */
void owl_server_stop(owl_server *s);
int owl_server_stopping(const owl_server *s);
/* The port listened on (the one chosen when params port was 0). */
int owl_server_port(const owl_server *s);
void owl_server_free(owl_server *s);

/* ---- governance -------------------------------------------------------------
 * Licence terms from a catalogue kept as data (data/licenses.json, embedded at
 * build time; each entry cites its source), detection of a model's licence
 * from every place it may be declared, and a decision for an intended use.
 * Summaries of licence terms, not legal advice. */
typedef struct owl_license_terms {
    const char *id;            /* "Apache-2.0", "Llama-3.1", "Gemma", ... */
    const char *name;
    const char *source;        /* where the terms were taken from */
    int osi_approved;
    int commercial;            /* 1 commercial use allowed */
    uint64_t mau_limit;        /* monthly active users above which a separate licence is needed; 0 none */
    const char *attribution;   /* duties when redistributing or deriving; NULL none */
    const char *name_prefix;   /* a derivative's name must start with this; NULL none */
    const char *aup;           /* acceptable-use policy; NULL none */
    const char *redistribution;
    const char *outputs_train_models; /* may outputs train other models */
    const char *field_of_use;  /* field-of-use limits; NULL none */
} owl_license_terms;

/* The catalogue: entry i (NULL past the last). */
const owl_license_terms *owl_license_get(size_t i);
/* The entry whose id or an alias matches TEXT (case, '-', '_' and spaces ignored); NULL if none. */
const owl_license_terms *owl_license_find(const char *text);

#define OWL_LICENSE_MAX_EVIDENCE 8
typedef struct owl_license_evidence {
    const char *where;   /* file the value came from */
    const char *field;   /* "general.license", "license_name", "LICENSE text", ... */
    const char *value;   /* as found (may be cut short) */
    const owl_license_terms *terms; /* what it names; NULL unrecognised */
    double confidence;   /* 0..1 */
} owl_license_evidence;

typedef struct owl_license_detection {
    const owl_license_terms *terms; /* the best-supported licence; NULL unknown */
    double confidence;
    int conflict;                   /* 1 when sources name different licences */
    size_t n_evidence;
    owl_license_evidence evidence[OWL_LICENSE_MAX_EVIDENCE];
} owl_license_detection;

/* What declared fields and a LICENSE text say (any may be NULL). */
typedef struct owl_license_sources {
    const char *where;                       /* file of the fields */
    int gguf;                                /* fields are general.license* (1) or model-card keys (0) */
    const char *license, *license_name, *license_link;
    const char *text_where;                  /* file of the text */
    const char *text; size_t text_len;       /* a LICENSE file's contents */
} owl_license_sources;
void owl_license_detect_sources(const owl_license_sources *s, owl_license_detection *d);
/* A model's licence: its declared fields, and a LICENSE, LICENSE.txt or
 * LICENSE.md beside a model directory's files. Strings live as long as m. */
owl_status owl_license_detect(const owl_model *m, owl_license_detection *d, owl_error *err);

typedef enum owl_use { OWL_USE_RESEARCH = 1, OWL_USE_INTERNAL, OWL_USE_COMMERCIAL } owl_use;
typedef struct owl_use_request {
    owl_use use;
    uint64_t monthly_users; /* 0 unknown or none */
    int derivative;         /* fine-tunes, merges, or trains on outputs */
    int distribute;         /* ships weights or derivatives to others */
} owl_use_request;
enum { OWL_LICENSE_ALLOWED = 0, OWL_LICENSE_DENIED = 1, OWL_LICENSE_UNKNOWN = 2 };
/* Decides a use under terms (NULL: unknown). reasons gets why it is denied,
 * duties what an allowed use must do, one per line (either may be NULL). */
int owl_license_check(const owl_license_terms *t, const owl_use_request *r, char *reasons, size_t reasons_cap,
                      char *duties, size_t duties_cap);

/* An organisation's policy, a JSON object: "use" (commercial|internal|research,
 * default commercial), "monthly_users", "derivative", "distribute" (booleans),
 * "allowed_licenses" (catalogue ids; absent: any known), "forbidden_uses"
 * (use words the organisation forbids), "allow_unknown" (default false),
 * "require_acceptance" (true, false or "non-osi", the default). */
typedef struct owl_policy owl_policy;
owl_status owl_policy_load(const char *path, owl_policy **out, owl_error *err);
void owl_policy_free(owl_policy *p);
/* OWL_OK when the policy allows the model; OWL_ERR_DENIED with the reason
 * otherwise. An acceptance needed and not on record in accept_dir is a
 * refusal unless accept_now, which records it. run, serve, finetune call this. */
owl_status owl_policy_enforce(const owl_policy *p, const owl_model *m, const char *accept_dir, int accept_now,
                              owl_error *err);
/* Records that the user accepts the model's licence terms (atomic write of
 * accept_dir/SHA256(licence, model path).json). */
owl_status owl_license_accept(const owl_model *m, const char *accept_dir, owl_error *err);

/* Openness after the OSI Open Source AI Definition 1.0, from evidence:
 * "open-source-ai" (weights under open terms, training datasets declared and
 * training code linked in the model card), "open-weight" (weights usable
 * commercially or under open terms, data or code missing), "restricted-weights"
 * (non-commercial or research only) or "unknown" (no recognised licence). */
typedef struct owl_openness {
    const char *cls;
    char evidence[1024]; /* in plain words, "; "-separated */
} owl_openness;
owl_status owl_openness_assess(const owl_model *m, owl_openness *o, owl_error *err);

/* Provenance. A manifest is canonical JSON (sorted keys, no whitespace):
 * SHA-256, size and role of every file, a digest of the tensor data (names,
 * types, shapes, bytes), tokenizer and chat-template digests, family,
 * parameter count, licence and source. Caller frees *out. */
owl_status owl_manifest_build(const owl_model *m, const char *source, char **out, owl_error *err);
/* The manifest's tensor_data_sha256 alone (64 hex digits): the digest of the
 * weights that answer, as owl serve reports it. Reads every tensor byte once
 * (a second or so per GB). */
owl_status owl_model_tensor_digest(const owl_model *m, char hex[65], owl_error *err);
/* An Ed25519 key pair as PEM files (written atomically). */
owl_status owl_keygen(const char *private_path, const char *public_path, owl_error *err);
/* Signs the manifest's canonical form (without "signature") and writes the
 * signature into it: "signature": {alg, public_key, value}. */
owl_status owl_manifest_sign(const char *manifest_path, const char *private_key_path, owl_error *err);
/* Re-hashes the model and compares with the manifest; with pubkey_path (PEM)
 * also checks the signature. OWL_ERR_DENIED names what failed. */
owl_status owl_manifest_verify(const owl_model *m, const char *manifest_path, const char *pubkey_path, owl_error *err);

/* Audit trail: an append-only JSON-lines log. Each line is the event object
 * (sorted keys, no whitespace) plus "seq" (1, 2, ...) and "prev" (SHA-256 of
 * the previous line's bytes; 64 zeros for the first), appended in one write
 * with O_APPEND under an exclusive flock and fdatasync'd, so concurrent
 * writers never interleave or tear lines. Reals are written to 12 digits; a
 * line is at most OWL_AUDIT_LINE_CAP bytes. */
#define OWL_AUDIT_LINE_CAP (16u << 20)
owl_status owl_audit_append(const char *path, const char *event_json, owl_error *err);
/* An audit log held open by a long-running writer (owl serve): the chain's
 * tail is read once, at open (so a restart continues the chain), and again
 * only when another process has appended. owl_audit_write is safe from many
 * threads; it returns once the line is on disk (fdatasync), with its seq in
 * *seq (may be NULL); a line it could not make durable is cut off again, so
 * a failed write never stays in the chain. A log whose last line is torn or
 * not an owl audit line is refused. */
typedef struct owl_audit_log owl_audit_log;
owl_status owl_audit_open(const char *path, owl_audit_log **out, owl_error *err);
owl_status owl_audit_write(owl_audit_log *log, const char *event_json, uint64_t *seq, owl_error *err);
void owl_audit_close(owl_audit_log *log);
/* Checks the chain: *bad_line is 0 when every line holds, else the first bad
 * line (1-based), with why. Edits, deletions, insertions and reordering all
 * break it; lines cut from the end show against LOG.head, which every append
 * rewrites with the last line's seq and hash (a log copied without its head
 * is checked by its chain alone). */
owl_status owl_audit_verify(const char *path, uint64_t *n_lines, uint64_t *bad_line, char *why, size_t why_cap,
                            owl_error *err);

/* ---- fine-tuning -------------------------------------------------------------
 * LoRA (and QLoRA: the base stays in its stored type) on a frozen base of the
 * Llama family, AdamW with warmup and decay, gradient accumulation, packing,
 * an eval split, atomic checkpoints and exact resume. Same base, data, seed
 * and settings give a bit-identical adapter, whatever the thread count. The
 * out directory receives the adapter in PEFT's format (adapter_config.json,
 * adapter_model.safetensors) and llama.cpp's (adapter.gguf), run.json,
 * loss.svg and checkpoint.bin. */
typedef enum owl_lr_schedule { OWL_LR_COSINE = 0, OWL_LR_LINEAR = 1, OWL_LR_CONSTANT = 2 } owl_lr_schedule;

typedef struct owl_finetune_progress {
    int64_t step, steps;      /* optimizer steps done, in all */
    double loss;              /* the last step's mean training loss */
    double eval_loss;         /* the latest eval loss; negative before the first */
    double lr, grad_norm;     /* of the last step (norm before clipping) */
    double tokens_per_s;      /* scored training tokens per second, this session */
    double elapsed_s, eta_s;
    int evaluated;            /* 1: this report follows an evaluation */
} owl_finetune_progress;
typedef void (*owl_finetune_progress_fn)(void *ctx, const owl_finetune_progress *p);

typedef struct owl_finetune_params {
    const char *base;          /* model path (GGUF, HF dir, llama2.c) */
    const char *train_path;    /* .jsonl ({"text"} or {"messages"} per line) or plain text */
    const char *eval_path;     /* NULL: hold out eval_split of the training records */
    double eval_split;         /* default 0.1 */
    const char *out_dir;
    const char *chat_template; /* template source for chat records; NULL: the model's */
    int64_t steps;             /* > 0: this many optimizer steps; else epochs */
    double epochs;             /* default 1 */
    double lr;                 /* default 2e-4 */
    double weight_decay;       /* default 0 */
    double beta1, beta2, adam_eps; /* 0.9, 0.999, 1e-8 */
    double grad_clip;          /* global norm; default 1; 0 off */
    int64_t warmup_steps;      /* default 0 */
    int schedule;              /* owl_lr_schedule; default cosine */
    int64_t batch;             /* sequences per micro-batch; default 4 */
    int64_t grad_accum;        /* micro-batches per step; default 1 */
    int64_t seq_len;           /* default 256 */
    int no_pack;               /* 1: one record per sequence instead of packing */
    int64_t rank;              /* default 8 */
    double alpha;              /* default 16 */
    double dropout;            /* default 0 */
    int use_rslora;            /* scale alpha / sqrt(rank) */
    const char *targets;       /* "q,k,v,o,gate,up,down" subset or "all-linear"; NULL: "q,v" (PEFT's default) */
    uint64_t seed;             /* default 42 */
    int n_threads;             /* 0: all cores */
    int64_t checkpoint_every;  /* steps; default 100; 0: only at the end */
    int64_t eval_every;        /* steps; 0: 10 evaluations over the run */
    int resume;                /* continue from out_dir/checkpoint.bin */
    owl_finetune_progress_fn progress;
    void *progress_ctx;
} owl_finetune_params;

typedef struct owl_finetune_result {
    int64_t steps, resumed_from;
    double first_eval_loss, last_eval_loss, last_loss; /* eval losses negative when there was no eval data */
    int64_t train_records, train_tokens, eval_records;
    int64_t trainable_params;
    double tokens_per_s;
} owl_finetune_result;

owl_finetune_params owl_finetune_default_params(void);
owl_status owl_finetune(const owl_finetune_params *p, owl_finetune_result *r, owl_error *err);

#ifdef __cplusplus
}
#endif
#endif
