/* metrics.c: GET /metrics in Prometheus' text format: responses by status,
 * token counters, queue and batch gauges, and the latency histograms. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "serve/server.h"

/* Bucket bounds, in seconds. */
static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
_Static_assert(sizeof BUCKETS / sizeof BUCKETS[0] == SERVE_N_BUCKETS, "one bound per bucket");
#define N_BUCKETS SERVE_N_BUCKETS

void serve_observe(histogram *h, double x) {
    size_t i = 0;
    while (i < N_BUCKETS && x > BUCKETS[i]) i++;
    h->count[i]++;
    h->sum += x;
    h->n++;
}

static void put_hist(text_buf *b, const char *name, const char *help, const histogram *h) {
    char line[256];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    serve_text_add(b, line, strlen(line));
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        cum += h->count[i];
        if (i < N_BUCKETS) snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[i], (unsigned long long)cum);
        else snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
        serve_text_add(b, line, strlen(line));
    }
    snprintf(line, sizeof line, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->n);
    serve_text_add(b, line, strlen(line));
}

enum MHD_Result serve_send_metrics(owl_server *s, struct MHD_Connection *c) {
    text_buf b = {0};
    char line[512];
    static const char *codes[] = {"2xx", "4xx", "401", "404", "413", "429"};
    pthread_mutex_lock(&s->met.lock);
    metrics m = s->met;
    pthread_mutex_unlock(&s->met.lock);
    const char *head = "# HELP owl_requests_total HTTP responses by status\n# TYPE owl_requests_total counter\n";
    serve_text_add(&b, head, strlen(head));
    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof line, "owl_requests_total{code=\"%s\"} %llu\n", codes[i], (unsigned long long)m.requests[i]);
        serve_text_add(&b, line, strlen(line));
    }
    snprintf(line, sizeof line,
             "# HELP owl_prompt_tokens_total Prompt tokens processed\n# TYPE owl_prompt_tokens_total counter\n"
             "owl_prompt_tokens_total %llu\n"
             "# HELP owl_generated_tokens_total Tokens generated\n# TYPE owl_generated_tokens_total counter\n"
             "owl_generated_tokens_total %llu\n"
             "# HELP owl_queue_depth Requests waiting for the engine\n# TYPE owl_queue_depth gauge\nowl_queue_depth %d\n"
             "# HELP owl_batch_size Sequences decoding now\n# TYPE owl_batch_size gauge\nowl_batch_size %d\n",
             (unsigned long long)m.prompt_tokens, (unsigned long long)m.gen_tokens, m.queued, m.active);
    serve_text_add(&b, line, strlen(line));
    put_hist(&b, "owl_time_to_first_token_seconds", "Queue wait + prompt + first token", &m.ttft);
    put_hist(&b, "owl_time_per_output_token_seconds", "Latency per generated token", &m.per_token);
    return serve_send_text(c, 200, "text/plain; version=0.0.4", b.p, b.n);
}
