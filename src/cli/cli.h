/* cli.h: shared pieces of the owl command (one source file per verb). */
#ifndef OWL_CLI_H
#define OWL_CLI_H

#include "owl.h"

/* Exit statuses: 0 ok, 1 bad input, 2 bad usage, 3 I/O or other failure. */
enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_OTHER = 3 };

int cmd_inspect(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_license(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_finetune(int argc, char **argv);

/* Prints "owl: MESSAGE" and a hint; returns the exit status for err. */
int cli_report_error(const owl_error *err);
int cli_usage_error(const char *verb, const char *fmt, ...);
/* Where licence acceptances are recorded: $OWL_ACCEPT_DIR, else
 * $HOME/.config/owl/accepted (buf of cap bytes). */
const char *cli_accept_dir(char *buf, size_t cap);
/* Enforces --policy F (or $OWL_POLICY) on an open model; 0 or an exit status
 * after printing the refusal. */
int cli_enforce_policy(const char *policy_path, const owl_model *m, int accept_now);

/* --lora ADAPTER[:SCALE], repeatable (run, chat, logits). */
#define CLI_MAX_LORAS 16
typedef struct cli_loras {
    int n;
    const char *path[CLI_MAX_LORAS];
    float scale[CLI_MAX_LORAS];
    owl_model *m[CLI_MAX_LORAS];
} cli_loras;
/* EXIT_OK, or the usage error's exit status (printed). Cuts ":SCALE" off arg. */
int cli_lora_arg(cli_loras *l, const char *verb, char *arg);
/* Opens every adapter and adds it to e, in order. */
owl_status cli_lora_apply(cli_loras *l, owl_engine *e, owl_error *err);
/* Closes the adapters, after the engine is freed. */
void cli_lora_free(cli_loras *l);

/* Progress bar on stderr, only when it is a terminal. */
void cli_progress(void *ctx, uint64_t done, uint64_t total);

#endif
