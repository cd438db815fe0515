/* server.c: owl serve's life: the parameters, loading and hashing each model,
 * the listening daemon (libmicrohttpd, a thread per connection), and the
 * shutdown that waits for streams still holding an engine. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"

char *serve_read_file(const char *path, size_t cap, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) { owl_fail(err, OWL_ERR_IO, "%s: cannot open", path); return NULL; }
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf) { owl_fail(err, OWL_ERR_NOMEM, "out of memory"); return NULL; }
    if (n > cap) { free(buf); owl_fail(err, OWL_ERR_INPUT, "%s: larger than %zu bytes", path, cap); return NULL; }
    buf[n] = 0;
    return buf;
}

serve_model *serve_find_model(owl_server *s, const char *name) {
    for (size_t i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name)) return &s->models[i];
    return NULL;
}

static int is_loopback(const char *host) {
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strncmp(host, "127.", 4);
}

owl_server_params owl_server_default_params(void) {
    owl_server_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8080;
    p.max_body = 1 << 20;
    p.timeout_s = 10;
    p.max_connections = 64;
    p.max_queue = 64;
    p.request_timeout_s = 300;
    return p;
}

owl_status owl_server_new(const owl_server_params *p, owl_server **out, owl_error *err) {
    *out = NULL;
    if (!p->n_models) return owl_fail(err, OWL_ERR_USAGE, "at least one model is needed");
    owl_server *s = calloc(1, sizeof *s);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    s->p = *p;
    if (s->p.max_queue <= 0) s->p.max_queue = 64;
    if (s->p.request_timeout_s <= 0) s->p.request_timeout_s = 300;
    pthread_mutex_init(&s->met.lock, NULL);
    owl_status st = OWL_OK;
    unsigned char nonce[4];
    if (RAND_bytes(nonce, sizeof nonce) != 1) memcpy(nonce, &(uint32_t){(uint32_t)time(NULL)}, 4);
    snprintf(s->boot, sizeof s->boot, "%02x%02x%02x%02x", nonce[0], nonce[1], nonce[2], nonce[3]);
    if (p->api_key_file && (st = serve_load_keys(s, p->api_key_file, err))) goto fail;
    if (p->audit_log && (st = owl_audit_open(p->audit_log, &s->audit, err))) goto fail;
    struct in_addr a;
    if (inet_pton(AF_INET, p->host, &a) != 1) {
        st = owl_fail(err, OWL_ERR_USAGE, "--host %s: expected an IPv4 address", p->host);
        goto fail;
    }
    if (!is_loopback(p->host) && !s->n_keys) {
        st = owl_fail(err, OWL_ERR_USAGE, "refusing to listen on %s without --api-key-file (only loopback may go without keys)", p->host);
        goto fail;
    }
    s->models = calloc(p->n_models, sizeof *s->models);
    if (!s->models) { st = owl_fail(err, OWL_ERR_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < p->n_models; i++) {
        serve_model *m = &s->models[i];
        snprintf(m->name, sizeof m->name, "%s", p->model_names[i]);
        pthread_mutex_init(&m->lock, NULL);
        s->n_models++;
        if ((st = owl_model_open(p->model_paths[i], &m->model, err))) goto fail;
        char hex[65]; /* once, here: every response names the weights that answered */
        if ((st = owl_model_tensor_digest(m->model, hex, err))) goto fail;
        snprintf(m->digest, sizeof m->digest, "sha256:%s", hex);
        if ((st = owl_tokenizer_new(m->model, &m->tok, err))) goto fail;
        owl_engine_params ep = owl_engine_default_params();
        ep.n_threads = p->n_threads;
        ep.n_ctx = p->n_ctx;
        if ((st = owl_engine_new(m->model, &ep, &m->eng, err))) goto fail;
        if (p->chat_templates && p->chat_templates[i] && !(m->template_src = serve_read_file(p->chat_templates[i], 1 << 20, err))) {
            st = err ? err->status : OWL_ERR_IO;
            goto fail;
        }
        const char *tsrc = m->template_src ? m->template_src : owl_model_get_info(m->model)->chat_template;
        if (tsrc) serve_sha256_tag(tsrc, strlen(tsrc), m->template_digest);
    }
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                            (uint16_t)p->port, NULL, NULL, serve_on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&(struct sockaddr_in){
                                .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port), .sin_addr = a},
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p->timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)p->max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)p->max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, serve_on_done, s, MHD_OPTION_END);
    if (!s->d) { st = owl_fail(err, OWL_ERR_IO, "cannot listen on %s:%d", p->host, p->port); goto fail; }
    *out = s;
    return OWL_OK;
fail:
    owl_server_free(s);
    return st;
}

void owl_server_stop(owl_server *s) { s->stop = 1; }

int owl_server_port(const owl_server *s) {
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? (int)i->port : -1;
}

int owl_server_stopping(const owl_server *s) { return s->stop; }

void owl_server_free(owl_server *s) {
    if (!s) return;
    s->stop = 1; /* in-flight generations end at their next token */
    if (s->d) MHD_stop_daemon(s->d);
    for (int waited = 0;; waited++) { /* stream workers still hold the engines */
        pthread_mutex_lock(&s->met.lock);
        int w = s->met.workers;
        pthread_mutex_unlock(&s->met.lock);
        if (!w) break;
        if (waited == 1000) { /* 10 s: leak rather than free under a running thread */
            fprintf(stderr, "owl serve: %d streams did not end; exiting without freeing\n", w);
            return;
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    for (size_t i = 0; i < s->n_models; i++) {
        serve_model *m = &s->models[i];
        owl_token_trie_free(m->trie);
        owl_engine_free(m->eng);
        owl_tokenizer_free(m->tok);
        owl_model_close(m->model);
        free(m->template_src);
        pthread_mutex_destroy(&m->lock);
    }
    free(s->models);
    owl_audit_close(s->audit); /* after the stream workers, which write their lines as they end */
    pthread_mutex_destroy(&s->met.lock);
    for (size_t i = 0; i < s->n_keys; i++) { free(s->key_id[i]); free(s->key[i]); }
    free(s);
}
