/* defaults.c: the sampling settings a model ships with, as the starting
 * point a user's flags override: Hugging Face generation_config.json
 * (temperature, top_k, top_p, min_p, typical_p, repetition_penalty,
 * do_sample) and GGUF general.sampling.* keys. */
#include <jansson.h>
#include <string.h>

#include "formats/gguf.h"
#include "model/model.h"
#include "owl.h"

static int finite_in(double v, double lo, double hi) { return v >= lo && v <= hi; }

void owl_sampler_model_defaults(const owl_model *m, owl_sampler_params *p) {
    if (!m || !p) return;
    double v;
    int64_t k;
    if (m->gguf) { /* llama.cpp's names */
        if (owl_gguf_get_float(m->gguf, "general.sampling.temp", &v) && finite_in(v, 0, 100)) p->temperature = (float)v;
        if (owl_gguf_get_int(m->gguf, "general.sampling.top_k", &k) && k >= 0 && k < (1 << 24)) p->top_k = (int)k;
        if (owl_gguf_get_float(m->gguf, "general.sampling.top_p", &v) && finite_in(v, 1e-9, 1)) p->top_p = (float)v;
        if (owl_gguf_get_float(m->gguf, "general.sampling.min_p", &v) && finite_in(v, 0, 0.999999)) p->min_p = (float)v;
        if (owl_gguf_get_float(m->gguf, "general.sampling.penalty_repeat", &v) && finite_in(v, 1e-9, 10)) p->repeat_penalty = (float)v;
        if (owl_gguf_get_int(m->gguf, "general.sampling.penalty_last_n", &k) && k >= 0 && k <= 65536) p->penalty_last_n = (int)k;
    }
    json_t *g = json_object_get(m->metadata, "generation_config");
    if (!json_is_object(g)) return;
    json_t *x;
    if (json_is_number(x = json_object_get(g, "temperature")) && finite_in(json_number_value(x), 0, 100))
        p->temperature = (float)json_number_value(x);
    if (json_is_integer(x = json_object_get(g, "top_k")) && json_integer_value(x) >= 0 && json_integer_value(x) < (1 << 24))
        p->top_k = (int)json_integer_value(x);
    if (json_is_number(x = json_object_get(g, "top_p")) && finite_in(json_number_value(x), 1e-9, 1)) p->top_p = (float)json_number_value(x);
    if (json_is_number(x = json_object_get(g, "min_p")) && finite_in(json_number_value(x), 0, 0.999999)) p->min_p = (float)json_number_value(x);
    if (json_is_number(x = json_object_get(g, "typical_p")) && finite_in(json_number_value(x), 1e-9, 1))
        p->typical_p = (float)json_number_value(x);
    if (json_is_number(x = json_object_get(g, "repetition_penalty")) && finite_in(json_number_value(x), 1e-9, 10))
        p->repeat_penalty = (float)json_number_value(x);
    if (json_is_false(json_object_get(g, "do_sample"))) p->temperature = 0; /* transformers' default is greedy */
}
