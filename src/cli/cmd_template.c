/* cmd_template.c: `owl template`: renders a conversation through a chat
 * template and prints the prompt exactly, nothing else: how templates are
 * debugged, and how owl's renderer is checked against other tools. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mapped_file.h"

static const char usage[] =
    "usage: owl template (MODEL | --template FILE.jinja) --messages M.json [options]\n"
    "\n"
    "Renders the conversation in M.json (an OpenAI-style array of {\"role\", \"content\"}\n"
    "messages; '-' reads standard input) with the model's chat template, or the one in\n"
    "FILE.jinja, and prints the prompt exactly as the model would receive it.\n"
    "Rendering follows Hugging Face's apply_chat_template (trim_blocks, lstrip_blocks),\n"
    "sandboxed: no file or network access, bounded steps, nesting and output.\n"
    "\n"
    "  --template F               the template source (default: the model's own)\n"
    "  --messages F               the conversation (required)\n"
    "  --tools F                  a JSON array of tool definitions, passed as `tools`\n"
    "  --add-generation-prompt    end with the start of the assistant's turn\n"
    "  --bos-token S, --eos-token S   override the model's (or set them without a model)\n"
    "  --var NAME=JSON            another variable, e.g. --var enable_thinking=false or\n"
    "                             --var 'date_string=\"26 Jul 2024\"' (repeatable)\n"
    "  --max-steps N              evaluation step limit (default 10,000,000)\n"
    "\n"
    "exit status: 0 ok, 1 the template or its input is invalid (or raised an error), 2 bad usage\n";

#define MAX_INPUT_BYTES (64u << 20)

static char *read_input(const char *path, const char *what, owl_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (!strcmp(path, "-")) {
        size_t cap = 0;
        for (;;) {
            if (len + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 8192;
                if (cap > MAX_INPUT_BYTES) {
                    free(text);
                    snprintf(err->message, sizeof err->message, "%s on standard input: more than %u bytes", what,
                             MAX_INPUT_BYTES);
                    err->status = OWL_ERR_INPUT;
                    return NULL;
                }
                char *p = realloc(text, cap);
                if (!p) {
                    free(text);
                    return NULL;
                }
                text = p;
            }
            size_t got = fread(text + len, 1, cap - len - 1, stdin);
            len += got;
            if (!got) break;
        }
        text[len] = 0;
        return text;
    }
    if (owl_read_small_file(path, MAX_INPUT_BYTES, &text, &len, err)) return NULL;
    if (strlen(text) != len) {
        free(text);
        snprintf(err->message, sizeof err->message, "%s: %s holds a NUL byte", what, path);
        err->status = OWL_ERR_INPUT;
        return NULL;
    }
    return text;
}

int cmd_template(int argc, char **argv) {
    const char *model_path = NULL, *template_file = NULL, *messages_file = NULL, *tools_file = NULL;
    const char *bos = NULL, *eos = NULL;
    int add_gen = 0;
    unsigned long long max_steps = 0;
    json_t *vars = json_object();
    int rc = EXIT_OTHER;
    owl_error err = {0};
    owl_model *m = NULL;
    char *tsrc = NULL, *msgs = NULL, *tools = NULL, *extra = NULL, *out = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = EXIT_OK;
            goto done;
        } else if (!strcmp(a, "--template") && has) template_file = argv[++i];
        else if (!strcmp(a, "--messages") && has) messages_file = argv[++i];
        else if (!strcmp(a, "--tools") && has) tools_file = argv[++i];
        else if (!strcmp(a, "--bos-token") && has) bos = argv[++i];
        else if (!strcmp(a, "--eos-token") && has) eos = argv[++i];
        else if (!strcmp(a, "--add-generation-prompt")) add_gen = 1;
        else if (!strcmp(a, "--max-steps") && has) {
            char *end;
            max_steps = strtoull(argv[++i], &end, 10);
            if (*end || !max_steps) {
                rc = cli_usage_error("template", "--max-steps needs a positive number");
                goto done;
            }
        } else if (!strcmp(a, "--var") && has) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            if (!eq || eq == v) {
                rc = cli_usage_error("template", "--var wants NAME=JSON, got '%s'", v);
                goto done;
            }
            json_error_t je;
            json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, &je);
            if (!val) {
                rc = cli_usage_error("template", "--var %.*s: the value is not JSON (%s); quote strings: --var '%.*s=\"text\"'",
                                     (int)(eq - v), v, je.text, (int)(eq - v), v);
                goto done;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
            json_object_set_new(vars, name, val);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("template", "unknown option '%s'", a);
            goto done;
        } else if (!model_path) model_path = a;
        else {
            rc = cli_usage_error("template", "one model only (got '%s' and '%s')", model_path, a);
            goto done;
        }
    }
    if (!model_path && !template_file) {
        rc = cli_usage_error("template", "give a MODEL or --template FILE.jinja");
        goto done;
    }
    if (!messages_file) {
        rc = cli_usage_error("template", "--messages M.json is required");
        goto done;
    }
    if (model_path && owl_model_open(model_path, &m, &err)) goto fail;
    if (template_file && !(tsrc = read_input(template_file, "template", &err))) goto fail;
    if (!(msgs = read_input(messages_file, "messages", &err))) goto fail;
    if (tools_file && !(tools = read_input(tools_file, "tools", &err))) goto fail;
    extra = json_dumps(vars, JSON_COMPACT);

    owl_template_limits lim = {max_steps, 0, 0};
    owl_chat_params p = {tsrc, msgs, tools, extra, add_gen, bos, eos, &lim};
    size_t out_len = 0;
    if (owl_chat_render(m, &p, &out, &out_len, &err)) goto fail;
    fwrite(out, 1, out_len, stdout);
    rc = fflush(stdout) ? EXIT_OTHER : EXIT_OK;
    goto done;
fail:
    rc = cli_report_error(&err);
done:
    free(out);
    free(extra);
    free(tools);
    free(msgs);
    free(tsrc);
    owl_model_close(m);
    json_decref(vars);
    return rc;
}
