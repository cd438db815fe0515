/* finetune.c: the fine-tuning job behind `owl finetune`: load the base and
 * the data, then steps of (micro-batches forward and backward, clip, AdamW),
 * evaluations, checkpoints, and at the end the adapter in PEFT's and
 * llama.cpp's formats, run.json and a loss curve. Everything a step does is
 * a function of (settings, step), so a resumed run continues exactly. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/lora_model.h"
#include "train/optim.h"
#include "train/rng.h"

owl_finetune_params owl_finetune_default_params(void) {
    owl_finetune_params p;
    memset(&p, 0, sizeof p);
    p.eval_split = 0.1;
    p.epochs = 1;
    p.lr = 2e-4;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.adam_eps = 1e-8;
    p.grad_clip = 1.0;
    p.schedule = OWL_LR_COSINE;
    p.batch = 4;
    p.grad_accum = 1;
    p.seq_len = 256;
    p.rank = 8;
    p.alpha = 16;
    p.seed = 42;
    p.checkpoint_every = 100;
    return p;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "q,k,v" or "all-linear" (also PEFT's module names: q_proj, ...). */
static owl_status parse_targets(const char *s, unsigned *out, owl_error *err) {
    static const char *const hf[LORA_N_SLOTS] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    *out = 0;
    if (!s) s = "q,v";
    if (strcmp(s, "all-linear") == 0 || strcmp(s, "all") == 0) {
        *out = (1u << LORA_N_SLOTS) - 1;
        return OWL_OK;
    }
    char buf[256];
    if (strlen(s) >= sizeof buf) return owl_fail(err, OWL_ERR_USAGE, "--target list too long");
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < LORA_N_SLOTS; i++)
            if (strcmp(tok, owl_lora_slot_names[i]) == 0 || strcmp(tok, hf[i]) == 0) found = i;
        if (found < 0)
            return owl_fail(err, OWL_ERR_USAGE, "unknown LoRA target '%s' (use q,k,v,o,gate,up,down or all-linear)", tok);
        *out |= 1u << found;
    }
    if (!*out) return owl_fail(err, OWL_ERR_USAGE, "no LoRA target given");
    return OWL_OK;
}

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct run {
    const owl_finetune_params *p;
    owl_model *m;
    owl_tokenizer *tk;
    lora_model *lm;
    train_data train, eval;
    train_stream ts, es;
    train_seq *seqs;          /* batch * grad_accum */
    int64_t n_seqs, steps, eval_every;
    float *m1, *m2;           /* AdamW moments */
    double *hist;             /* train loss per step */
    int64_t *eval_step;
    double *eval_loss;
    int64_t n_eval, cap_eval;
    char base_digest[65], config_digest[65];
    json_t *base_files;
    unsigned targets;
} run;

static owl_status base_digest(run *r, owl_error *err) {
    const owl_model_info *mi = owl_model_get_info(r->m);
    r->base_files = json_array();
    json_t *all = json_array();
    for (size_t i = 0; i < mi->n_files; i++) {
        char hex[65];
        owl_status st = owl_sha256_file(mi->files[i].path, hex, NULL, NULL, err);
        if (st) {
            json_decref(all);
            return st;
        }
        const char *slash = strrchr(mi->files[i].path, '/');
        json_array_append_new(r->base_files, json_pack("{s:s, s:s, s:s}", "name", slash ? slash + 1 : mi->files[i].path,
                                                       "role", mi->files[i].role ? mi->files[i].role : "", "sha256", hex));
        json_array_append_new(all, json_string(hex));
    }
    char *s = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    train_sha256_hex(s, strlen(s), r->base_digest);
    free(s);
    return OWL_OK;
}

/* Everything that changes what the run computes, hashed: a checkpoint only
   resumes the run that wrote it. Threads, eval and checkpoint cadence are
   left out: they change nothing in the adapter. */
static json_t *hyperparameters(const run *r) {
    const owl_finetune_params *p = r->p;
    static const char *const sched[] = {"cosine", "linear", "constant"};
    json_t *targets = json_array();
    for (int i = 0; i < LORA_N_SLOTS; i++)
        if (r->targets & (1u << i)) json_array_append_new(targets, json_string(owl_lora_slot_names[i]));
    return json_pack("{s:I, s:f, s:f, s:b, s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:s, s:I, s:I, s:I, s:b, s:I, s:f, s:I}",
                     "rank", (json_int_t)p->rank, "alpha", p->alpha, "dropout", p->dropout, "use_rslora", p->use_rslora,
                     "targets", targets, "lr", p->lr, "weight_decay", p->weight_decay, "beta1", p->beta1, "beta2",
                     p->beta2, "adam_eps", p->adam_eps, "grad_clip", p->grad_clip, "warmup_steps",
                     (json_int_t)p->warmup_steps, "schedule", sched[p->schedule], "batch", (json_int_t)p->batch,
                     "grad_accum", (json_int_t)p->grad_accum, "seq_len", (json_int_t)p->seq_len, "pack", !p->no_pack,
                     "steps", (json_int_t)r->steps, "eval_split", p->eval_path ? 0.0 : p->eval_split, "seed",
                     (json_int_t)p->seed);
}

static owl_status config_digest(run *r, owl_error *err) {
    json_t *h = hyperparameters(r);
    json_t *all = json_pack("{s:s, s:s, s:s, s:o}", "base", r->base_digest, "train", r->train.digest, "eval",
                            r->p->eval_path ? r->eval.digest : "", "hyperparameters", h);
    char *s = all ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(all);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    train_sha256_hex(s, strlen(s), r->config_digest);
    free(s);
    return OWL_OK;
}

static owl_status push_eval(run *r, int64_t step, double loss, owl_error *err) {
    if (r->n_eval == r->cap_eval) {
        int64_t cap = r->cap_eval ? r->cap_eval * 2 : 16;
        int64_t *a = realloc(r->eval_step, (size_t)cap * sizeof *a);
        if (a) r->eval_step = a;
        double *b = realloc(r->eval_loss, (size_t)cap * sizeof *b);
        if (b) r->eval_loss = b;
        if (!a || !b) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        r->cap_eval = cap;
    }
    r->eval_step[r->n_eval] = step;
    r->eval_loss[r->n_eval++] = loss;
    return OWL_OK;
}

/* Mean loss per scored token over every eval sequence, dropout off. */
static owl_status evaluate(run *r, double *out, owl_error *err) {
    float keep = r->lm->dropout;
    r->lm->dropout = 0;
    double sum = 0;
    int64_t count = 0;
    owl_status st = OWL_OK;
    for (int64_t g = 0; g < r->es.n_seq && !st; g++) {
        train_seq *q = &r->seqs[0];
        if ((st = train_stream_get(&r->es, g, 0, q, err))) break;
        if (!q->n_scored) continue;
        sum += lora_model_sequence(r->lm, q->tokens, q->targets, q->w, q->pos, q->doc, q->T, 0);
        count += q->n_scored;
    }
    r->lm->dropout = keep;
    *out = count ? sum / (double)count : 0;
    return st;
}

/* One optimizer step: the gradient of the mean loss over the step's scored tokens. */
static owl_status train_step(run *r, int64_t step, double *loss, double *gnorm, double *lr, int64_t *scored,
                             owl_error *err) {
    const owl_finetune_params *p = r->p;
    lora_model *lm = r->lm;
    int64_t count = 0;
    for (int64_t i = 0; i < r->n_seqs; i++) {
        owl_status st = train_stream_get(&r->ts, step * r->n_seqs + i, 1, &r->seqs[i], err);
        if (st) return st;
        count += r->seqs[i].n_scored;
    }
    memset(lm->grads, 0, (size_t)lm->n_params * sizeof(float));
    double sum = 0;
    if (count) {
        float inv = 1.0f / (float)count;
        for (int64_t i = 0; i < r->n_seqs; i++) {
            train_seq *q = &r->seqs[i];
            if (!q->n_scored) continue;
            for (int64_t t = 0; t < q->T; t++) q->w[t] *= inv;
            lm->dropout_key = owl_rng_hash(p->seed ^ 0xd50f, (uint64_t)(step * r->n_seqs + i));
            sum += lora_model_sequence(lm, q->tokens, q->targets, q->w, q->pos, q->doc, q->T, 1);
        }
    }
    *gnorm = clip_grad_norm(lm->grads, lm->n_params, p->grad_clip);
    *lr = p->lr * lr_schedule(p->schedule, step, p->warmup_steps, r->steps);
    adamw o = {*lr, p->beta1, p->beta2, p->adam_eps, p->weight_decay};
    adamw_step(&o, step + 1, lm->params, lm->grads, r->m1, r->m2, lm->n_params);
    *loss = sum;
    *scored = count;
    return OWL_OK;
}

static owl_status save_checkpoint(run *r, int64_t step, owl_error *err) {
    train_state s = {{0}, step, r->lm->n_params, r->lm->params, r->m1, r->m2, step, r->hist, r->n_eval, r->eval_step,
                     r->eval_loss};
    memcpy(s.config_digest, r->config_digest, sizeof s.config_digest);
    char *path = path_in(r->p->out_dir, "checkpoint.bin");
    if (!path) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_status st = train_checkpoint_save(path, &s, err);
    free(path);
    return st;
}

static owl_status load_checkpoint(run *r, int64_t *step, owl_error *err) {
    char *path = path_in(r->p->out_dir, "checkpoint.bin");
    if (!path) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    train_state s;
    owl_status st = train_checkpoint_load(path, &s, err);
    if (!st && strcmp(s.config_digest, r->config_digest) != 0)
        st = owl_fail(err, OWL_ERR_USAGE,
                      "%s was written by a run with a different base, data or settings; resume with the same "
                      "options, or start afresh without --resume", path);
    else if (!st && (s.n_params != r->lm->n_params || s.step > r->steps || s.n_hist != s.step))
        st = owl_fail(err, OWL_ERR_INPUT, "%s does not fit this run (parameters or steps)", path);
    if (!st) {
        memcpy(r->lm->params, s.params, (size_t)s.n_params * sizeof(float));
        memcpy(r->m1, s.m, (size_t)s.n_params * sizeof(float));
        memcpy(r->m2, s.v, (size_t)s.n_params * sizeof(float));
        memcpy(r->hist, s.hist, (size_t)s.n_hist * sizeof(double));
        r->n_eval = 0;
        for (int64_t i = 0; i < s.n_eval && !st; i++) st = push_eval(r, s.eval_step[i], s.eval_loss[i], err);
        *step = s.step;
    }
    train_state_free(&s);
    free(path);
    return st;
}

/* ---- outputs -------------------------------------------------------------------- */

static owl_status save_adapter(run *r, owl_error *err) {
    lora_model *lm = r->lm;
    int64_t n = 0;
    owl_lora_tensor *t = calloc((size_t)(lm->d.n_layer * LORA_N_SLOTS), sizeof *t);
    if (!t) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < lm->d.n_layer * LORA_N_SLOTS; i++) {
        const lora_slot *s = &lm->slots[i];
        if (!s->base) continue;
        t[n].target = s->target;
        t[n].rank = lm->rank;
        t[n].n_in = s->n_in;
        t[n].n_out = s->n_out;
        t[n].a = lm->params + s->off_a;
        t[n].b = lm->params + s->off_b;
        n++;
    }
    owl_lora_desc d;
    memset(&d, 0, sizeof d);
    const owl_model_info *mi = owl_model_get_info(r->m);
    d.base_model = mi->name ? mi->name : r->p->base;
    d.rank = lm->rank;
    d.alpha = r->p->alpha;
    d.dropout = r->p->dropout;
    d.use_rslora = r->p->use_rslora;
    d.base_rows_interleaved = lm->d.rope_style == OWL_ROPE_INTERLEAVED;
    d.n_head = lm->d.n_head;
    d.n_head_kv = lm->d.n_head_kv;
    d.head_dim = lm->d.head_dim_k;
    d.t = t;
    d.n = (size_t)n;
    d.architecture = lm->arch->id;
    owl_status st = owl_lora_save_peft(&d, r->p->out_dir, err);
    char *gguf = st ? NULL : path_in(r->p->out_dir, "adapter.gguf");
    if (!st && !gguf) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    if (!st) st = owl_lora_save_gguf(&d, gguf, err);
    free(gguf);
    free(t);
    return st;
}

static owl_status write_text(const char *dir, const char *name, const char *text, owl_error *err) {
    char *path = path_in(dir, name);
    if (!path) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    owl_status st = owl_atomic_write_file(path, text, strlen(text), NULL, 0, err);
    free(path);
    return st;
}

static owl_status write_run_json(run *r, const owl_finetune_result *res, owl_error *err) {
    const owl_finetune_params *p = r->p;
    json_t *train_hist = json_array(), *eval_hist = json_array();
    for (int64_t s = 0; s < r->steps; s++) json_array_append_new(train_hist, json_pack("[I, f]", (json_int_t)(s + 1), r->hist[s]));
    for (int64_t i = 0; i < r->n_eval; i++)
        json_array_append_new(eval_hist, json_pack("[I, f]", (json_int_t)r->eval_step[i], r->eval_loss[i]));
    json_t *data = json_pack("{s:{s:s, s:s, s:s, s:I, s:I, s:I}}", "train", "path", p->train_path, "sha256",
                             r->train.digest, "kind", r->train.kind, "records", (json_int_t)r->train.n_docs, "tokens",
                             (json_int_t)r->train.n_tokens, "scored_tokens", (json_int_t)r->train.n_scored);
    if (r->eval.n_docs)
        json_object_set_new(data, "eval",
                            json_pack("{s:s?, s:s, s:I, s:I}", "path", p->eval_path, "sha256", r->eval.digest, "records",
                                      (json_int_t)r->eval.n_docs, "scored_tokens", (json_int_t)r->eval.n_scored));
    json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s, s:O}, s:o, s:o, s:I, s:i, s:s, s:I, s:I, s:f, s:{s:o, s:o}, s:{s:s, s:s, s:s}}",
                          "owl_version", OWL_VERSION, "base", "path", p->base, "family", owl_model_get_info(r->m)->family,
                          "digest", r->base_digest, "files", r->base_files, "data", data, "hyperparameters",
                          hyperparameters(r), "seed", (json_int_t)p->seed, "threads", owl_pool_threads(r->lm->pool),
                          "config_digest", r->config_digest, "trainable_params", (json_int_t)r->lm->n_params,
                          "resumed_from_step", (json_int_t)res->resumed_from, "tokens_per_s", res->tokens_per_s,
                          "history", "train_loss", train_hist, "eval_loss", eval_hist, "outputs", "peft",
                          "adapter_model.safetensors", "gguf", "adapter.gguf", "loss_curve", "loss.svg");
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    t[n] = '\n';
    t[n + 1] = 0;
    owl_status st = write_text(p->out_dir, "run.json", t, err);
    free(t);
    return st;
}

/* The loss curve: training loss per step and eval loss points, as SVG. */
static owl_status write_svg(run *r, owl_error *err) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t s = 0; s < r->steps; s++) lo = fmin(lo, r->hist[s]), hi = fmax(hi, r->hist[s]);
    for (int64_t i = 0; i < r->n_eval; i++) lo = fmin(lo, r->eval_loss[i]), hi = fmax(hi, r->eval_loss[i]);
    if (!(hi > lo)) hi = lo + 1;
    const double W = 640, H = 360, L = 56, B = 40, R = 16, T = 24;
    size_t cap = 4096 + (size_t)(r->steps + r->n_eval) * 48;
    char *svg = malloc(cap);
    if (!svg) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    size_t n = 0;
#define OUT(...) (n += (size_t)snprintf(svg + n, n < cap ? cap - n : 0, __VA_ARGS__))
#define X(step) (L + (W - L - R) * (double)(step) / (double)(r->steps > 0 ? r->steps : 1))
#define Y(v) (T + (H - T - B) * (1.0 - ((v) - lo) / (hi - lo)))
    OUT("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    OUT("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    OUT("<text x=\"%.0f\" y=\"16\">owl finetune: loss by step</text>\n", L);
    OUT("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    OUT("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
    OUT("<text x=\"4\" y=\"%.0f\">%.3f</text><text x=\"4\" y=\"%.0f\">%.3f</text>\n", T + 4, hi, H - B, lo);
    OUT("<text x=\"%.0f\" y=\"%.0f\">0</text><text x=\"%.0f\" y=\"%.0f\">%lld steps</text>\n", L, H - B + 16, W - R - 60,
        H - B + 16, (long long)r->steps);
    OUT("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
    for (int64_t s = 0; s < r->steps; s++) OUT("%.1f,%.1f ", X(s + 1), Y(r->hist[s]));
    OUT("\"/>\n");
    if (r->n_eval) {
        OUT("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"");
        for (int64_t i = 0; i < r->n_eval; i++) OUT("%.1f,%.1f ", X(r->eval_step[i]), Y(r->eval_loss[i]));
        OUT("\"/>\n");
        for (int64_t i = 0; i < r->n_eval; i++)
            OUT("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d62728\"/>\n", X(r->eval_step[i]), Y(r->eval_loss[i]));
    }
    OUT("<text x=\"%.0f\" y=\"%.0f\" fill=\"#1f77b4\">train</text>", W - R - 110, T + 12);
    OUT("<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">eval</text>\n</svg>\n", W - R - 60, T + 12);
#undef OUT
#undef X
#undef Y
    owl_status st = n < cap ? write_text(r->p->out_dir, "loss.svg", svg, err) : owl_fail(err, OWL_ERR_NOMEM, "loss.svg too large");
    free(svg);
    return st;
}

/* ---- the job -------------------------------------------------------------------- */

static owl_status check_params(const owl_finetune_params *p, owl_error *err) {
    if (!p->base || !p->train_path || !p->out_dir) return owl_fail(err, OWL_ERR_USAGE, "finetune needs a base model, --data and --out");
    if (!(p->lr > 0 && p->lr < 10)) return owl_fail(err, OWL_ERR_USAGE, "--lr must be in (0, 10)");
    if (p->batch < 1 || p->batch > 4096 || p->grad_accum < 1 || p->grad_accum > 65536)
        return owl_fail(err, OWL_ERR_USAGE, "--batch must be 1..4096 and --grad-accum 1..65536");
    if (p->steps < 0 || p->steps > (1ll << 32) || !(p->epochs > 0 && p->epochs <= 1e6))
        return owl_fail(err, OWL_ERR_USAGE, "--steps must be 0..2^32 and --epochs positive");
    if (!(p->beta1 >= 0 && p->beta1 < 1 && p->beta2 >= 0 && p->beta2 < 1 && p->adam_eps > 0 && p->weight_decay >= 0 &&
          p->grad_clip >= 0))
        return owl_fail(err, OWL_ERR_USAGE, "AdamW settings out of range (betas in [0,1), eps > 0, decay and clip >= 0)");
    if (p->schedule < OWL_LR_COSINE || p->schedule > OWL_LR_CONSTANT || p->warmup_steps < 0)
        return owl_fail(err, OWL_ERR_USAGE, "bad learning-rate schedule or warmup");
    if (!(p->eval_split >= 0 && p->eval_split < 1)) return owl_fail(err, OWL_ERR_USAGE, "--eval-split must be in [0, 1)");
    if (!(p->alpha > 0)) return owl_fail(err, OWL_ERR_USAGE, "--alpha must be positive");
    return OWL_OK;
}

static void run_free(run *r) {
    lora_model_free(r->lm);
    for (int64_t i = 0; r->seqs && i < r->n_seqs; i++) train_seq_free(&r->seqs[i]);
    free(r->seqs);
    train_stream_free(&r->ts);
    train_stream_free(&r->es);
    train_data_free(&r->train);
    train_data_free(&r->eval);
    owl_tokenizer_free(r->tk);
    owl_model_close(r->m);
    free(r->m1);
    free(r->m2);
    free(r->hist);
    free(r->eval_step);
    free(r->eval_loss);
    json_decref(r->base_files);
}

static owl_status setup(run *r, owl_finetune_result *res, int64_t *start, owl_error *err) {
    const owl_finetune_params *p = r->p;
    owl_status st;
    if ((st = parse_targets(p->targets, &r->targets, err))) return st;
    if ((st = owl_model_open(p->base, &r->m, err))) return st;
    if (owl_model_get_info(r->m)->adapter) return owl_fail(err, OWL_ERR_USAGE, "%s is an adapter, not a base model", p->base);
    if ((st = owl_tokenizer_new(r->m, &r->tk, err))) return st;
    if ((st = base_digest(r, err))) return st;
    if ((st = train_data_load(p->train_path, r->m, r->tk, p->chat_template, &r->train, err))) return st;
    if (p->eval_path) st = train_data_load(p->eval_path, r->m, r->tk, p->chat_template, &r->eval, err);
    else st = train_data_split(&r->train, p->eval_split, p->seed, &r->eval, err);
    if (st) return st;
    lora_config lc = {p->rank, p->alpha, p->dropout, p->use_rslora, r->targets, p->seed};
    if ((st = lora_model_new(r->m, &lc, p->seq_len, p->n_threads > 0 ? p->n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
                             &r->lm, err)))
        return st;
    if ((st = train_stream_init(&r->ts, &r->train, p->seq_len, !p->no_pack, p->seed, err))) return st;
    if (r->eval.n_docs && (st = train_stream_init(&r->es, &r->eval, p->seq_len, !p->no_pack, p->seed, err))) return st;
    r->n_seqs = p->batch * p->grad_accum;
    r->seqs = calloc((size_t)r->n_seqs, sizeof *r->seqs);
    if (!r->seqs) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < r->n_seqs; i++)
        if ((st = train_seq_alloc(&r->seqs[i], p->seq_len, err))) return st;
    r->steps = p->steps > 0 ? p->steps : (int64_t)ceil(p->epochs * (double)r->ts.n_seq / (double)r->n_seqs);
    if (r->steps < 1) r->steps = 1;
    r->eval_every = p->eval_every > 0 ? p->eval_every : (r->steps + 9) / 10;
    int64_t np = r->lm->n_params;
    r->m1 = calloc((size_t)np, sizeof(float));
    r->m2 = calloc((size_t)np, sizeof(float));
    r->hist = calloc((size_t)r->steps, sizeof(double));
    if (!r->m1 || !r->m2 || !r->hist) return owl_fail(err, OWL_ERR_NOMEM, "out of memory for the optimizer state");
    if ((st = config_digest(r, err))) return st;
    if (mkdir(p->out_dir, 0755) != 0 && errno != EEXIST) return owl_fail(err, OWL_ERR_IO, "%s: cannot create: %s", p->out_dir, strerror(errno));
    *start = 0;
    char *ckpt = path_in(p->out_dir, "checkpoint.bin");
    if (!ckpt) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    int have = access(ckpt, F_OK) == 0;
    free(ckpt);
    /* --resume with nothing to resume starts afresh, so a restarted job script needs no special case */
    if (p->resume && have && (st = load_checkpoint(r, start, err))) return st;
    res->resumed_from = *start;
    res->train_records = r->train.n_docs;
    res->train_tokens = r->train.n_tokens;
    res->eval_records = r->eval.n_docs;
    res->trainable_params = np;
    return OWL_OK;
}

owl_status owl_finetune(const owl_finetune_params *p, owl_finetune_result *res, owl_error *err) {
    owl_finetune_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    res->first_eval_loss = res->last_eval_loss = -1;
    owl_status st = check_params(p, err);
    if (st) return st;
    run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    int64_t start = 0;
    if ((st = setup(&r, res, &start, err))) goto out;
    if (start == 0 && r.eval.n_docs) { /* the baseline before any step */
        double el;
        if ((st = evaluate(&r, &el, err)) || (st = push_eval(&r, 0, el, err))) goto out;
    }
    double t0 = now_s();
    int64_t scored_total = 0;
    for (int64_t step = start; step < r.steps; step++) {
        double loss, gnorm, lr;
        int64_t scored;
        if ((st = train_step(&r, step, &loss, &gnorm, &lr, &scored, err))) goto out;
        r.hist[step] = loss;
        scored_total += scored;
        int evaluated = 0;
        if (r.eval.n_docs && ((step + 1) % r.eval_every == 0 || step + 1 == r.steps)) {
            double el;
            if ((st = evaluate(&r, &el, err)) || (st = push_eval(&r, step + 1, el, err))) goto out;
            evaluated = 1;
        }
        if (p->checkpoint_every > 0 && (step + 1) % p->checkpoint_every == 0 && step + 1 < r.steps &&
            (st = save_checkpoint(&r, step + 1, err)))
            goto out;
        if (p->progress) {
            double el = now_s() - t0;
            owl_finetune_progress pr = {step + 1, r.steps, loss, r.n_eval ? r.eval_loss[r.n_eval - 1] : -1, lr, gnorm,
                                        el > 0 ? (double)scored_total / el : 0, el,
                                        el / (double)(step + 1 - start) * (double)(r.steps - step - 1), evaluated};
            p->progress(p->progress_ctx, &pr);
        }
    }
    double elapsed = now_s() - t0;
    res->steps = r.steps;
    res->last_loss = r.hist[r.steps - 1];
    res->tokens_per_s = elapsed > 0 ? (double)scored_total / elapsed : 0;
    if (r.n_eval) {
        res->first_eval_loss = r.eval_loss[0];
        res->last_eval_loss = r.eval_loss[r.n_eval - 1];
    }
    if ((st = save_adapter(&r, err)) || (st = save_checkpoint(&r, r.steps, err)) || (st = write_run_json(&r, res, err)) ||
        (st = write_svg(&r, err)))
        goto out;
out:
    run_free(&r);
    return st;
}
