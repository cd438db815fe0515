/* test_mistral_chat.c: mistral-common's golden chat tokenizations
 * (../shared/tokenizers/mistral/samples): each conversation's rendered text,
 * tokenized with the SentencePiece model of its tokenizer version, must give
 * exactly mistral-common's ids. mistral-common encodes each text piece on its
 * own (with SentencePiece's dummy prefix, the "▁" after every control token)
 * and writes the control tokens ([INST], [TOOL_CALLS], ...) as single ids. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>

#include "harness.h"
#include "formats/tokenizer_files.h"
#include "model/model.h"
#include "testfiles.h"

static const char *const model_of[] = {
    NULL,
    "tokenizers/mistral/tokenizer.model.v1",
    "tokenizers/mistral/mistral_instruct_tokenizer_240216.model.v2",
    "tokenizers/mistral/mistral_instruct_tokenizer_240323.model.v3",
};

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    size_t got;
    while (p && (got = fread(p + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) p = realloc(p, cap *= 2);
    }
    fclose(f);
    if (p) p[len] = '\0';
    *n = len;
    return p;
}

/* The longest control token whose text starts at s, or -1. */
static int32_t control_at(const owl_model *m, const owl_tokenizer *tk, const char *s, size_t left, size_t *len) {
    int32_t best = -1;
    *len = 0;
    for (size_t id = 0; id < m->vocab.n_tokens; id++) {
        if (m->vocab.types[id] != OWL_TOKEN_CONTROL) continue;
        size_t n;
        const char *t = owl_token_text(tk, (int32_t)id, &n);
        if (n > *len && n <= left && !memcmp(s, t, n)) best = (int32_t)id, *len = n;
    }
    return best;
}

static int push(int32_t **v, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        int32_t *p = realloc(*v, *cap * sizeof *p);
        if (!p) return 0;
        *v = p;
    }
    (*v)[(*n)++] = id;
    return 1;
}

/* Encodes one text piece. The text files join the token pieces, so "▁" is a
   space and "<0x0A>" a byte; the piece's first space is the dummy prefix the
   tokenizer adds back. */
static int encode_piece(const owl_tokenizer *tk, const char *s, size_t n, int32_t **v, size_t *nv, size_t *cap) {
    char *plain = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned byte;
        if (n - i >= 3 && !memcmp(s + i, "\xe2\x96\x81", 3)) plain[k++] = ' ', i += 3;
        else if (n - i >= 6 && sscanf(s + i, "<0x%2X>", &byte) == 1 && s[i + 5] == '>') plain[k++] = (char)byte, i += 6;
        else plain[k++] = s[i++];
    }
    size_t skip = k && plain[0] == ' ';
    int32_t *ids = NULL;
    size_t n_ids = 0;
    owl_error err = {0};
    int ok = owl_tokenize(tk, plain + skip, k - skip, 0, &ids, &n_ids, &err) == OWL_OK;
    CHECK(ok, "%s", err.message);
    for (size_t i = 0; ok && i < n_ids; i++) ok = push(v, nv, cap, ids[i]);
    free(ids);
    free(plain);
    return ok;
}

static void check_sample(const char *sample, int version) {
    char rel[512];
    snprintf(rel, sizeof rel, "tokenizers/mistral/samples/%s/text_v%d.txt", sample, version);
    size_t n;
    char *text = read_all(shared_path(rel), &n);
    if (!text) return; /* not every sample exists for every version */
    snprintf(rel, sizeof rel, "tokenizers/mistral/samples/%s/tokens_v%d.json", sample, version);
    json_error_t je;
    json_t *want = json_load_file(shared_path(rel), 0, &je);
    CHECK(want && json_is_array(json_object_get(want, "tokens")), "%s: %s", rel, je.text);
    owl_model *m = open_ok(shared_path(model_of[version]));
    owl_tokenizer *tk = NULL;
    owl_error err = {0};
    if (m) CHECK(owl_tokenizer_new(m, &tk, &err) == OWL_OK, "%s", err.message);
    if (!want || !tk) goto done;
    int32_t *got = NULL;
    size_t n_got = 0, cap = 0, start = 0;
    for (size_t i = 0; i <= n;) {
        size_t len = 0;
        int32_t id = i < n ? control_at(m, tk, text + i, n - i, &len) : -1;
        if (id < 0 && i < n) {
            i++;
            continue;
        }
        if (i > start && !encode_piece(tk, text + start, i - start, &got, &n_got, &cap)) break;
        if (id < 0) break;
        push(&got, &n_got, &cap, id);
        i += len;
        start = i;
    }
    json_t *tokens = json_object_get(want, "tokens");
    size_t same = 0;
    while (same < n_got && same < json_array_size(tokens) && json_integer_value(json_array_get(tokens, same)) == got[same])
        same++;
    CHECK(same == n_got && n_got == json_array_size(tokens), "%s v%d: %zu ids, want %zu; first difference at %zu (got %d, want %lld)",
          sample, version, n_got, json_array_size(tokens), same, same < n_got ? got[same] : -1,
          (long long)json_integer_value(json_array_get(tokens, same)));
    printf("mistral %s v%d: %zu/%zu ids agree\n", sample, version, same, json_array_size(tokens));
    free(got);
done:
    owl_tokenizer_free(tk);
    owl_model_close(m);
    json_decref(want);
    free(text);
}

static void test_no_tools(void) {
    for (int v = 1; v <= 3; v++) check_sample("no_tools", v);
}
static void test_get_weather_full(void) {
    for (int v = 2; v <= 3; v++) check_sample("get_weather_full", v);
}
static void test_parallel_calls(void) {
    for (int v = 2; v <= 3; v++) check_sample("parallel_calls", v);
}

int main(void) {
    RUN(test_no_tools);
    RUN(test_get_weather_full);
    RUN(test_parallel_calls);
    DONE("test_mistral_chat");
}
