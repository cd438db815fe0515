/* fuzz_train_data.c: libFuzzer harness for fine-tuning inputs: JSONL training
 * records (text and chat, rendered through a chat template) tokenized with
 * stories260K's vocabulary from ../shared, and checkpoint files. The first
 * input byte picks which. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "owl.h"
#include "train/checkpoint.h"
#include "train/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static owl_model *model;
static owl_tokenizer *tok;
static const char chat_template[] =
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

static const char *write_temp(const uint8_t *data, size_t size, const char *ext) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/owl_fuzz_train_%d%s", (int)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    owl_error err;
    if (!model) {
        if (owl_model_open("../shared/models/stories260K/stories260K.gguf", &model, &err) ||
            owl_tokenizer_new(model, &tok, &err)) {
            fprintf(stderr, "fuzz_train_data: %s (run from the repository root, with ../shared beside it)\n", err.message);
            abort();
        }
    }
    if (!size) return 0;
    int mode = data[0] % 2;
    data++, size--;
    if (mode == 0) {
        const char *path = write_temp(data, size, ".jsonl");
        train_data d;
        if (path && train_data_load(path, model, tok, chat_template, &d, &err) == OWL_OK) {
            train_data ev;
            if (train_data_split(&d, 0.3, 1, &ev, &err) == OWL_OK) {
                train_stream s;
                train_seq q;
                if (train_stream_init(&s, &d, 16, data[0] & 1, 3, &err) == OWL_OK && train_seq_alloc(&q, 16, &err) == OWL_OK) {
                    for (int64_t g = 0; g < s.n_seq * 2 && g < 64; g++) train_stream_get(&s, g, 1, &q, &err);
                    train_seq_free(&q);
                }
                train_stream_free(&s);
                train_data_free(&ev);
            }
            train_data_free(&d);
        }
        if (path) unlink(path);
    } else {
        const char *path = write_temp(data, size, ".bin");
        train_state s;
        if (path && train_checkpoint_load(path, &s, &err) == OWL_OK) train_state_free(&s);
        if (path) unlink(path);
    }
    return 0;
}
