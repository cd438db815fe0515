/* merge.c: LoRA adapters folded into a GGUF base: W' = W + B A for every
 * adapted weight (B carries the scale), row by row: dequantize, add in F32,
 * quantize back with ggml's reference quantizer for the weight's own type or
 * the one asked for. Every other tensor and all metadata are copied as they
 * are; the file is written atomically, one merged tensor in memory at a time. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "kernels/kernels.h"
#include "model/lora.h"

/* The factors of all adapters for one weight. */
typedef struct merge_item {
    const owl_lora_factors **f;
    size_t n_f;
    int64_t n_in, n_out;
    const owl_kernel_traits *from, *to;
    const uint8_t *src;
} merge_item;

typedef struct merge_ctx {
    merge_item *items;   /* per GGUF tensor; n_f == 0: copied */
    size_t done, total;
    owl_progress_fn progress;
    void *progress_ctx;
} merge_ctx;

static owl_status make_merged(void *ctx, uint64_t index, void *dst, owl_error *err) {
    merge_ctx *c = ctx;
    const merge_item *it = &c->items[index];
    float *w = malloc((size_t)it->n_in * sizeof(float));
    if (!w) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    size_t in_row = owl_row_bytes(it->from->type, it->n_in), out_row = owl_row_bytes(it->to->type, it->n_in);
    for (int64_t o = 0; o < it->n_out; o++) {
        it->from->to_float(it->src + (size_t)o * in_row, w, it->n_in);
        for (size_t k = 0; k < it->n_f; k++) { /* w += sum_j b[o][j] a[j] */
            const owl_lora_factors *f = it->f[k];
            for (int64_t j = 0; j < f->rank; j++) {
                float bj = f->b[o * f->rank + j];
                const float *a = f->a + j * f->n_in;
                for (int64_t i = 0; i < it->n_in; i++) w[i] += bj * a[i];
            }
        }
        it->to->from_float(w, (uint8_t *)dst + (size_t)o * out_row, it->n_in);
    }
    free(w);
    c->done++;
    if (c->progress) c->progress(c->progress_ctx, c->done, c->total);
    return OWL_OK;
}

owl_status owl_lora_merge(const owl_model *base, const owl_merge_params *p, const char *path, owl_merge_result *r,
                          owl_error *err) {
    if (r) memset(r, 0, sizeof *r);
    if (!base || !p || !path || !p->n_adapters || !p->adapters)
        return owl_fail(err, OWL_ERR_USAGE, "owl_lora_merge: a base model, adapters and an output path are required");
    const owl_gguf *g = base->gguf;
    const char *bp = base->info.n_files ? base->info.files[0].path : "base";
    if (!g || base->info.adapter)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: merging needs a GGUF base model (convert other formats to GGUF first)", bp);
    const owl_kernel_traits *want = NULL;
    if (p->dtype >= 0) {
        want = owl_kernels_get(p->dtype);
        if (!want || !want->from_float)
            return owl_fail(err, OWL_ERR_UNSUPPORTED, "merge: owl cannot quantize to %s",
                            owl_dtype_name(p->dtype) ? owl_dtype_name(p->dtype) : "that type");
    }
    owl_lora_set *sets = calloc(p->n_adapters, sizeof *sets);
    merge_ctx c = {calloc(g->n_tensors ? g->n_tensors : 1, sizeof *c.items), 0, 0, p->progress, p->progress_ctx};
    owl_gguf_out_tensor *out = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *out);
    const owl_lora_factors **refs = NULL;
    owl_status st = sets && c.items && out ? OWL_OK : owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    size_t n_factors = 0;
    for (size_t i = 0; i < p->n_adapters && !st; i++) {
        float scale = p->scales ? p->scales[i] : 1.0f;
        if (!p->adapters[i]) st = owl_fail(err, OWL_ERR_USAGE, "merge: adapter %zu is NULL", i);
        else st = owl_lora_resolve_model(base, p->adapters[i], scale, &sets[i], err);
        if (!st) n_factors += sets[i].n;
    }
    if (!st && !(refs = calloc(n_factors ? n_factors : 1, sizeof *refs))) st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    /* each factor to the tensor it targets; resolving checked that one exists */
    size_t used = 0;
    for (uint64_t t = 0; t < g->n_tensors && !st; t++) {
        const owl_gguf_tensor *gt = &g->tensors[t];
        merge_item *it = &c.items[t];
        it->f = refs + used;
        for (size_t i = 0; i < p->n_adapters; i++)
            for (size_t k = 0; k < sets[i].n; k++) {
                const owl_lora_factors *f = &sets[i].f[k];
                if (strlen(f->target) == gt->name.len && !memcmp(f->target, gt->name.p, gt->name.len)) it->f[it->n_f++] = f;
            }
        used += it->n_f;
        out[t] = (owl_gguf_out_tensor){gt->name, gt->n_dims, {0}, gt->type, g->base + g->data_offset + gt->offset, gt->n_bytes};
        memcpy(out[t].ne, gt->ne, sizeof gt->ne);
        if (!it->n_f) continue;
        it->n_in = (int64_t)gt->ne[0];
        it->n_out = (int64_t)gt->ne[1];
        it->src = out[t].data;
        it->from = owl_kernels_get((int)gt->type);
        it->to = want ? want : it->from;
        /* rows that are not whole blocks of the type asked for keep their own
           (llama-quantize falls back likewise) */
        if (want && !owl_row_bytes(want->type, it->n_in)) it->to = it->from;
        const char *tn = owl_dtype_name(it->to ? it->to->type : (int)gt->type);
        if (!it->from || !it->from->to_float || !it->to->from_float) {
            st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: tensor %.*s: owl cannot %s %s weights (pass --type to store the merged "
                          "weights in another type)", bp, (int)gt->name.len, gt->name.p,
                          it->from && it->from->to_float ? "quantize back to" : "dequantize", tn ? tn : "these");
            break;
        }
        size_t row = owl_row_bytes(it->to->type, it->n_in);
        if (!row || !owl_row_bytes(it->from->type, it->n_in)) {
            st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: tensor %.*s: rows of %lld values are not whole %s blocks", bp,
                          (int)gt->name.len, gt->name.p, (long long)it->n_in, tn ? tn : "");
            break;
        }
        out[t].type = (uint32_t)it->to->type;
        out[t].n_bytes = (uint64_t)row * (uint64_t)it->n_out;
        out[t].data = NULL;
        c.total++;
    }
    if (!st) st = owl_gguf_write_made(path, g->version, g->kv, g->n_kv, out, g->n_tensors, g->alignment, make_merged, &c, err);
    if (!st && r) {
        struct stat sb;
        r->n_tensors = (size_t)g->n_tensors;
        r->n_merged = c.total;
        r->bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    for (size_t i = 0; sets && i < p->n_adapters; i++) owl_lora_set_free(&sets[i]);
    free(sets);
    free(refs);
    free(c.items);
    free(out);
    return st;
}
