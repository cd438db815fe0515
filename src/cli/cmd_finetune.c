/* cmd_finetune.c: `owl finetune`: LoRA / QLoRA fine-tuning of a base model on
 * local data (owl_finetune), with a live line on a terminal and a summary,
 * or JSON, at the end. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: owl finetune BASE --data TRAIN.jsonl --out DIR [options]\n"
    "\n"
    "Trains a LoRA adapter on a frozen base model (QLoRA when the base is\n"
    "quantized: its weights stay in their type). TRAIN is JSONL, one record per\n"
    "line, {\"text\": \"...\"} or {\"messages\": [{\"role\": ..., \"content\": ...}]}\n"
    "(rendered with the model's chat template; only assistant turns are\n"
    "learned), or any other file as plain text. A bad record stops the run and\n"
    "names its line. Same base, data, seed and options give a bit-identical\n"
    "adapter, whatever the thread count.\n"
    "\n"
    "DIR receives adapter_config.json + adapter_model.safetensors (PEFT),\n"
    "adapter.gguf (llama.cpp), run.json (digests, settings, loss history),\n"
    "loss.svg and checkpoint.bin.\n"
    "\n"
    "  --eval F             held-out data (default: --eval-split of TRAIN)\n"
    "  --eval-split X       fraction of TRAIN records held out (default 0.1)\n"
    "  --steps N            optimizer steps (default: --epochs over the data)\n"
    "  --epochs X           passes over the data (default 1)\n"
    "  --lr X               peak learning rate (default 2e-4)\n"
    "  --schedule S         cosine (default), linear or constant, after warmup\n"
    "  --warmup N           warmup steps (default 0)\n"
    "  --weight-decay X     AdamW decoupled weight decay (default 0)\n"
    "  --betas B1,B2        AdamW betas (default 0.9,0.999)\n"
    "  --adam-eps X         (default 1e-8)\n"
    "  --grad-clip X        clip the global gradient norm (default 1; 0 off)\n"
    "  --rank R             LoRA rank (default 8)\n"
    "  --alpha A            LoRA alpha (default 16); scale alpha/rank\n"
    "  --rslora             scale alpha/sqrt(rank)\n"
    "  --dropout P          LoRA dropout (default 0)\n"
    "  --target LIST        q,k,v,o,gate,up,down or all-linear (default q,v)\n"
    "  --batch B            sequences per micro-batch (default 4)\n"
    "  --grad-accum N       micro-batches per step (default 1)\n"
    "  --seq-len L          tokens per sequence (default 256)\n"
    "  --no-pack            one record per sequence (default: records packed,\n"
    "                       attention kept within each record)\n"
    "  --chat-template F    template file for chat records (default: the model's)\n"
    "  --seed S             (default 42)\n"
    "  --threads T          (default: all cores)\n"
    "  --checkpoint-every N steps between checkpoints (default 100)\n"
    "  --eval-every N       steps between evaluations (default: 10 in the run)\n"
    "  --resume             continue from DIR/checkpoint.bin (exactly; the\n"
    "                       options must be the same)\n"
    "  --policy F           enforce an organisation's licence policy file (default $OWL_POLICY)\n"
    "  --accept-license     record acceptance of the model's licence terms\n"
    "  --json               print the result as JSON\n"
    "\n"
    "exit status: 0 ok, 1 bad model or data, 2 bad usage, 3 I/O error\n";

typedef struct live {
    int tty;
} live;

static void on_progress(void *ctx, const owl_finetune_progress *p) {
    live *l = ctx;
    if (!l->tty) return;
    char ev[32] = "";
    if (p->eval_loss >= 0) snprintf(ev, sizeof ev, "  eval %.4f", p->eval_loss);
    fprintf(stderr, "\r\033[Kstep %lld/%lld  loss %.4f%s  lr %.2e  %.0f tok/s  ETA %.0fs", (long long)p->step,
            (long long)p->steps, p->loss, ev, p->lr, p->tokens_per_s, p->eta_s);
    if (p->step == p->steps) fputc('\n', stderr);
    fflush(stderr);
}

static int num(const char *s, double *out) {
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*out);
}

static int integer(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    *out = v;
    return *s && !*end && !errno;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            if (cap > (16u << 20)) break;
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) break;
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = 0;
    return buf;
}

int cmd_finetune(int argc, char **argv) {
    owl_finetune_params p = owl_finetune_default_params();
    const char *policy = NULL, *template_path = NULL;
    int accept_license = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        double x;
        int64_t n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
#define NUM(flag, field)                                                                          \
    else if (!strcmp(a, flag) && has) {                                                           \
        if (!num(argv[++i], &x)) return cli_usage_error("finetune", "%s takes a number", flag);    \
        field = x;                                                                                \
    }
#define INT(flag, field)                                                                          \
    else if (!strcmp(a, flag) && has) {                                                           \
        if (!integer(argv[++i], &n) || n < 0) return cli_usage_error("finetune", "%s takes a whole number", flag); \
        field = n;                                                                                \
    }
        else if (!strcmp(a, "--data") && has) p.train_path = argv[++i];
        else if (!strcmp(a, "--eval") && has) p.eval_path = argv[++i];
        else if (!strcmp(a, "--out") && has) p.out_dir = argv[++i];
        else if (!strcmp(a, "--target") && has) p.targets = argv[++i];
        else if (!strcmp(a, "--chat-template") && has) template_path = argv[++i];
        else if (!strcmp(a, "--policy") && has) policy = argv[++i];
        else if (!strcmp(a, "--accept-license")) accept_license = 1;
        else if (!strcmp(a, "--rslora")) p.use_rslora = 1;
        else if (!strcmp(a, "--no-pack")) p.no_pack = 1;
        else if (!strcmp(a, "--resume")) p.resume = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--schedule") && has) {
            const char *s = argv[++i];
            if (!strcmp(s, "cosine")) p.schedule = OWL_LR_COSINE;
            else if (!strcmp(s, "linear")) p.schedule = OWL_LR_LINEAR;
            else if (!strcmp(s, "constant")) p.schedule = OWL_LR_CONSTANT;
            else return cli_usage_error("finetune", "--schedule is cosine, linear or constant");
        } else if (!strcmp(a, "--betas") && has) {
            char *end;
            const char *s = argv[++i];
            p.beta1 = strtod(s, &end);
            if (*end != ',') return cli_usage_error("finetune", "--betas takes B1,B2");
            p.beta2 = strtod(end + 1, &end);
            if (*end) return cli_usage_error("finetune", "--betas takes B1,B2");
        }
        NUM("--eval-split", p.eval_split)
        NUM("--epochs", p.epochs)
        NUM("--lr", p.lr)
        NUM("--weight-decay", p.weight_decay)
        NUM("--adam-eps", p.adam_eps)
        NUM("--grad-clip", p.grad_clip)
        NUM("--alpha", p.alpha)
        NUM("--dropout", p.dropout)
        INT("--steps", p.steps)
        INT("--warmup", p.warmup_steps)
        INT("--rank", p.rank)
        INT("--batch", p.batch)
        INT("--grad-accum", p.grad_accum)
        INT("--seq-len", p.seq_len)
        INT("--seed", p.seed)
        INT("--threads", p.n_threads)
        INT("--checkpoint-every", p.checkpoint_every)
        INT("--eval-every", p.eval_every)
        else if (a[0] == '-') return cli_usage_error("finetune", "unknown option or missing value: %s", a);
        else if (!p.base) p.base = a;
        else return cli_usage_error("finetune", "one base model only (got '%s' too)", a);
#undef NUM
#undef INT
    }
    if (!p.base || !p.train_path || !p.out_dir)
        return cli_usage_error("finetune", "give the base model, --data TRAIN.jsonl and --out DIR");
    char *tmpl = NULL;
    if (template_path && !(tmpl = read_file(template_path))) {
        fprintf(stderr, "owl finetune: cannot read %s: %s\n", template_path, strerror(errno));
        return EXIT_OTHER;
    }
    p.chat_template = tmpl;
    owl_error err = {0};
    if (policy || getenv("OWL_POLICY")) { /* the policy decides on the base before any work */
        owl_model *m = NULL;
        if (owl_model_open(p.base, &m, &err)) {
            free(tmpl);
            return cli_report_error(&err);
        }
        int rc = cli_enforce_policy(policy, m, accept_license);
        owl_model_close(m);
        if (rc) {
            free(tmpl);
            return rc;
        }
    }
    live l = {isatty(2)};
    p.progress = on_progress;
    p.progress_ctx = &l;
    owl_finetune_result r;
    owl_status st = owl_finetune(&p, &r, &err);
    free(tmpl);
    if (st) return cli_report_error(&err);
    if (json) {
        printf("{\"steps\": %lld, \"resumed_from\": %lld, \"train_records\": %lld, \"train_tokens\": %lld, "
               "\"eval_records\": %lld, \"trainable_params\": %lld, \"first_eval_loss\": %.6f, \"last_eval_loss\": %.6f, "
               "\"last_loss\": %.6f, \"tokens_per_s\": %.1f}\n",
               (long long)r.steps, (long long)r.resumed_from, (long long)r.train_records, (long long)r.train_tokens,
               (long long)r.eval_records, (long long)r.trainable_params, r.first_eval_loss, r.last_eval_loss, r.last_loss,
               r.tokens_per_s);
    } else {
        printf("trained %lld steps (%lld records, %lld tokens; %lld adapter parameters) at %.0f tokens/s\n",
               (long long)r.steps, (long long)r.train_records, (long long)r.train_tokens, (long long)r.trainable_params,
               r.tokens_per_s);
        if (r.first_eval_loss >= 0)
            printf("eval loss %.4f -> %.4f (%lld held-out records)\n", r.first_eval_loss, r.last_eval_loss, (long long)r.eval_records);
        printf("adapter: %s/adapter_model.safetensors (PEFT), %s/adapter.gguf (llama.cpp); run record: %s/run.json\n",
               p.out_dir, p.out_dir, p.out_dir);
    }
    return EXIT_OK;
}
