/* cmd_tokenize.c: `owl tokenize` (text -> ids) and `owl detokenize`
 * (ids -> text) over any model or tokenizer owl can open. Special-token text
 * is parsed by default, as Hugging Face does; --split-special turns that off. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json_util.h"

static const char tokenize_usage[] =
    "usage: owl tokenize MODEL_OR_TOKENIZER [--add-special] [--split-special] [--json] (TEXT | --file F | --jsonl)\n"
    "\n"
    "Prints the token ids of TEXT (or of file F), space-separated on one line.\n"
    "\n"
    "MODEL_OR_TOKENIZER is anything `owl inspect` opens: a GGUF model or vocabulary,\n"
    "a Hugging Face directory, a tokenizer.json, a SentencePiece .model, a llama2.c\n"
    "tokenizer .bin.\n"
    "\n"
    "  --add-special    add BOS/EOS as the model asks (off by default)\n"
    "  --split-special  treat special-token text such as <|endoftext|> as plain text\n"
    "                   (by default it becomes the special token, as in Hugging Face)\n"
    "  --json           print {\"ids\": [...], \"tokens\": [...]}\n"
    "  --file F         tokenize the contents of file F\n"
    "  --jsonl          read one {\"text\": ...} object per line from stdin and write\n"
    "                   one {\"ids\": [...]} line per input, in order\n"
    "\n"
    "exit status: 0 ok, 1 the model or input is malformed or unsupported, 2 bad usage, 3 I/O error\n";

static const char detokenize_usage[] =
    "usage: owl detokenize MODEL [--special] [--json] (IDS... | --jsonl)\n"
    "\n"
    "Prints the text the token ids decode to. IDS are integers, as separate\n"
    "arguments or comma-separated (\"1,15043,3186\").\n"
    "\n"
    "  --special   render special and control tokens (<s>, <|endoftext|>, ...)\n"
    "  --jsonl     read one {\"ids\": [...]} object per line from stdin and write\n"
    "              one {\"text\": ...} per line, in order\n"
    "  --json      print {\"text\": ...}\n"
    "\n"
    "exit status: 0 ok, 1 the model is malformed or an id is out of range, 2 bad usage, 3 I/O error\n";

#define MAX_FILE (256u << 20)

static owl_status open_tokenizer(const char *path, owl_tokenizer **t, owl_error *err) {
    owl_model *m = NULL;
    owl_status st = owl_model_open(path, &m, err);
    if (!st) st = owl_tokenizer_new(m, t, err);
    owl_model_close(m);
    return st;
}

static void print_ids(const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
}

static int print_json(const owl_tokenizer *t, const int32_t *ids, size_t n, int with_tokens) {
    json_t *o = json_object(), *a = json_array(), *tk = with_tokens ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_integer(ids[i]));
        if (tk) {
            size_t len = 0;
            const char *s = owl_token_text(t, ids[i], &len);
            json_array_append_new(tk, owl_json_string_lossy(s ? s : "", s ? len : 0));
        }
    }
    json_object_set_new(o, "ids", a);
    if (tk) json_object_set_new(o, "tokens", tk);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s) return 0;
    puts(s);
    free(s);
    return 1;
}

static char *read_file(const char *path, size_t *len, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err->status = OWL_ERR_IO;
        snprintf(err->message, sizeof err->message, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                buf = NULL;
                err->status = OWL_ERR_NOMEM;
                snprintf(err->message, sizeof err->message, "%s: larger than %u bytes", path, MAX_FILE);
                break;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) free(buf);
            buf = p;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
        err->status = OWL_ERR_IO;
        snprintf(err->message, sizeof err->message, "%s: read error", path);
    }
    fclose(f);
    *len = n;
    return buf;
}

static int run_jsonl(const owl_tokenizer *t, unsigned flags) {
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = EXIT_OK;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (got == 0 || (got == 1 && line[0] == '\n')) continue;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)got, JSON_DISABLE_EOF_CHECK, &jerr);
        json_t *text = o ? json_object_get(o, "text") : NULL;
        if (!json_is_string(text)) {
            fprintf(stderr, "owl tokenize: stdin line %zu: expected an object {\"text\": \"...\"}%s%s\n", lineno,
                    o ? "" : ": ", o ? "" : jerr.text);
            json_decref(o);
            rc = EXIT_INPUT;
            break;
        }
        owl_error err = {0};
        int32_t *ids = NULL;
        size_t n = 0;
        owl_status st = owl_tokenize(t, json_string_value(text), json_string_length(text), flags, &ids, &n, &err);
        json_decref(o);
        if (st) {
            fprintf(stderr, "owl tokenize: stdin line %zu: ", lineno);
            rc = cli_report_error(&err);
            break;
        }
        print_json(t, ids, n, 0);
        free(ids);
    }
    free(line);
    fflush(stdout);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *text = NULL, *file = NULL;
    int as_json = 0, jsonl = 0;
    unsigned flags = OWL_TOKENIZE_PARSE_SPECIAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(tokenize_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--add-special")) flags |= OWL_TOKENIZE_ADD_SPECIAL;
        else if (!strcmp(a, "--split-special")) flags &= ~(unsigned)OWL_TOKENIZE_PARSE_SPECIAL;
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "--jsonl")) jsonl = 1;
        else if (!strcmp(a, "--file")) {
            if (i + 1 >= argc) return cli_usage_error("tokenize", "--file needs a path");
            file = argv[++i];
        } else if (!strcmp(a, "--")) {
            if (i + 1 < argc && !text && path) text = argv[++i];
        } else if (a[0] == '-' && a[1]) return cli_usage_error("tokenize", "unknown option '%s'", a);
        else if (!path) path = a;
        else if (!text) text = a;
        else return cli_usage_error("tokenize", "one TEXT at a time (quote it): got '%s' and '%s'", text, a);
    }
    if (!path) return cli_usage_error("tokenize", "which model or tokenizer? give a file or directory");
    if ((text != NULL) + (file != NULL) + jsonl != 1)
        return cli_usage_error("tokenize", "give exactly one of TEXT, --file F or --jsonl");
    owl_error err = {0};
    owl_tokenizer *t = NULL;
    if (open_tokenizer(path, &t, &err)) return cli_report_error(&err);
    int rc = EXIT_OK;
    if (jsonl) {
        rc = run_jsonl(t, flags);
    } else {
        size_t len = 0;
        char *buf = NULL;
        if (file && !(buf = read_file(file, &len, &err))) {
            owl_tokenizer_free(t);
            return cli_report_error(&err);
        }
        int32_t *ids = NULL;
        size_t n = 0;
        if (owl_tokenize(t, file ? buf : text, file ? len : strlen(text), flags, &ids, &n, &err)) rc = cli_report_error(&err);
        else if (as_json) print_json(t, ids, n, 1);
        else print_ids(ids, n);
        free(ids);
        free(buf);
    }
    owl_tokenizer_free(t);
    return rc;
}

/* Parses "12", "1,2,3" into ids; returns 0 and names the bad part on failure. */
static int parse_ids(const char *arg, int32_t **ids, size_t *n, size_t *cap) {
    const char *p = arg;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < INT32_MIN || v > INT32_MAX || (*end && *end != ',')) return 0;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 64;
            int32_t *q = realloc(*ids, c * sizeof *q);
            if (!q) return 0;
            *ids = q;
            *cap = c;
        }
        (*ids)[(*n)++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    return 1;
}

static int run_detok_jsonl(const owl_tokenizer *t, unsigned flags) {
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = EXIT_OK;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (got == 0 || (got == 1 && line[0] == '\n')) continue;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)got, JSON_DISABLE_EOF_CHECK, &jerr);
        json_t *arr = o ? json_object_get(o, "ids") : NULL;
        size_t n = json_array_size(arr);
        int32_t *ids = json_is_array(arr) ? malloc((n ? n : 1) * sizeof *ids) : NULL;
        int ok = ids != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            json_t *v = json_array_get(arr, i);
            ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN && json_integer_value(v) <= INT32_MAX;
            if (ok) ids[i] = (int32_t)json_integer_value(v);
        }
        json_decref(o);
        if (!ok) {
            fprintf(stderr, "owl detokenize: stdin line %zu: expected an object {\"ids\": [integers]}%s%s\n", lineno,
                    o ? "" : ": ", o ? "" : jerr.text);
            free(ids);
            rc = EXIT_INPUT;
            break;
        }
        owl_error err = {0};
        char *text = NULL;
        size_t len = 0;
        owl_status st = owl_detokenize(t, ids, n, flags, &text, &len, &err);
        free(ids);
        if (st) {
            fprintf(stderr, "owl detokenize: stdin line %zu: ", lineno);
            rc = cli_report_error(&err);
            break;
        }
        json_t *out = json_object();
        json_object_set_new(out, "text", owl_json_string_lossy(text, len));
        char *s = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s) puts(s);
        free(s);
        json_decref(out);
        free(text);
    }
    free(line);
    fflush(stdout);
    return rc;
}

int cmd_detokenize(int argc, char **argv) {
    const char *path = NULL;
    int as_json = 0, jsonl = 0;
    unsigned flags = 0;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(detokenize_usage, stdout);
            free(ids);
            return EXIT_OK;
        } else if (!strcmp(a, "--special")) flags |= OWL_DETOKENIZE_SPECIAL;
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "--jsonl")) jsonl = 1;
        else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) {
            free(ids);
            return cli_usage_error("detokenize", "unknown option '%s'", a);
        } else if (!path) path = a;
        else if (!parse_ids(a, &ids, &n, &cap)) {
            free(ids);
            return cli_usage_error("detokenize", "'%s' is not a token id or a comma-separated list of ids", a);
        }
    }
    if (!path) return cli_usage_error("detokenize", "which model or tokenizer? give a file or directory");
    owl_error err = {0};
    owl_tokenizer *t = NULL;
    if (open_tokenizer(path, &t, &err)) {
        free(ids);
        return cli_report_error(&err);
    }
    if (jsonl) {
        int jrc = n ? cli_usage_error("detokenize", "give either IDS or --jsonl") : run_detok_jsonl(t, flags);
        free(ids);
        owl_tokenizer_free(t);
        return jrc;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = EXIT_OK;
    if (owl_detokenize(t, ids, n, flags, &text, &len, &err)) {
        rc = cli_report_error(&err);
    } else if (as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "text", owl_json_string_lossy(text, len));
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        fwrite(text, 1, len, stdout);
        putchar('\n');
    }
    free(text);
    free(ids);
    owl_tokenizer_free(t);
    return rc;
}
