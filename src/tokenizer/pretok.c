/* pretok.c: byte-level BPE pre-tokenization. tokenizer.ggml.pre names the
 * model's Hugging Face pre-tokenizer; each maps to the regexes llama.cpp's
 * llama-vocab.cpp lists for it (the original tokenizer.json pattern where
 * llama.cpp rewrote one for std::regex), run here with Oniguruma, the engine
 * Hugging Face tokenizers uses. Each regex splits every piece the previous
 * one left into its matches and the text between them. */
#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

#define GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CASED_WORDS(N) "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" N \
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" N
#define CONTRACTIONS "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
#define GPT4O CASED_WORDS(CONTRACTIONS) "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define BLOOM " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"
#define CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

typedef struct pre_def {
    const char *names; /* space-separated tokenizer.ggml.pre values */
    int ignore_merges;
    const char *regex[7];
} pre_def;

static const pre_def defs[] = {
    {"default", 0, {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}},
    {"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano", 1, {LLAMA3}},
    {"dbrx smaug-bpe glm4 chatglm-bpe", 0, {LLAMA3}},
    {"deepseek-llm", 0,
     {"[\r\n]", "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
      "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", CJK,
      "\\p{N}+"}},
    {"deepseek-coder", 0, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}"}},
    {"deepseek-v3 hunyuan-dense joyai-llm hy_v4", 0,
     {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
    {"falcon", 0, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"}},
    {"gpt-2 mpt olmo phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert exaone4 "
     "jina-v1-en jina-v2-code roberta-bpe jais trillion granite-docling", 0, {GPT2}},
    {"starcoder refact command-r smollm codeshell exaone minerva-7b mellum2", 0, {"\\p{N}", GPT2}},
    {"qwen2 deepseek-r1-qwen kormo f2llmv2 stablelm2 megrez hunyuan solar-open grok-2", 0, {QWEN2}},
    {"qwen35", 0,
     {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"poro-chat bloom gpt3-finnish", 0, {BLOOM}},
    {"viking", 0, {BLOOM, "\\p{N}"}},
    {"tekken", 1, {CASED_WORDS("") "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"chameleon", 0,
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", GPT2}},
    {"gpt-4o llama4 kanana2 talkie minimax-m2", 0, {GPT4O}},
    {"tiny_aya cohere2moe", 0, {"\\d{1,3}(?=(?:\\d{3})*\\b)", GPT4O}},
    {"bailingmoe bailingmoe2 llada-moe", 0,
     {"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}},
    {"seed-coder", 0,
     {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\r\n]+|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
    {"jais-2", 0,
     {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
      "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)"
      "|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"}},
    {"ufakzeka", 0, {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"exaone-moe", 0,
     {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}},
    {"minicpm5", 1,
     {"\\p{N}{1,3}", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"laguna", 0, {"[^\\n]+|[\\n]+", QWEN2}},
};

/* Pre-tokenizers llama.cpp knows that need more than regexes (custom splitters, no byte encoding). */
static const char *const unsupported = " kimi-k2 afmoe gemma4 granite-embed-multi-311m granite-embed-multi-97m sarvam-moe superbpe whitespace youtu spark2_5 ";

struct tok_pretok {
    regex_t *re[7];
    int n;
};

static int name_in(const char *names, const char *name) {
    size_t n = strlen(name);
    for (const char *p = names; (p = strstr(p, name)) != NULL; p += n)
        if ((p == names || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

int tok_pretok_name_for(const char *const *rx, int n, int ignore_merges, char *name, size_t cap) {
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        const pre_def *d = &defs[i];
        int k = 0;
        while (k < 7 && d->regex[k]) k++;
        if (k != n || d->ignore_merges != ignore_merges) continue;
        int same = 1;
        for (int j = 0; j < n && same; j++) same = strcmp(d->regex[j], rx[j] ? rx[j] : GPT2) == 0;
        if (!same) continue;
        size_t len = strcspn(d->names, " ");
        if (len + 1 > cap) return 0;
        memcpy(name, d->names, len);
        name[len] = '\0';
        return 1;
    }
    return 0;
}

/* Oniguruma's global encoding tables: initialized exactly once per process. */
static void onig_init_once(void) {
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    onig_initialize(&enc, 1);
}

static owl_status compile(tok_pretok *p, const char *rx, size_t len, const char *name, owl_error *err) {
    OnigErrorInfo info;
    int r = onig_new(&p->re[p->n], (const UChar *)rx, (const UChar *)rx + len, ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                     ONIG_SYNTAX_DEFAULT, &info);
    if (r != ONIG_NORMAL) {
        UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &info);
        return owl_fail(err, OWL_ERR_INPUT, "pre-tokenizer '%s': regex %.*s does not compile: %s", name, (int)(len > 200 ? 200 : len),
                        rx, (const char *)msg);
    }
    return OWL_OK;
}

/* spec: regexes separated by TOK_PRETOK_SEP, an empty one meaning GPT-2's */
static owl_status new_from_regexes(const char *spec, int ignore, tok_pretok **out, int *ignore_merges, owl_error *err) {
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (const char *at = spec;;) {
        const char *end = strchr(at, TOK_PRETOK_SEP);
        size_t len = end ? (size_t)(end - at) : strlen(at);
        if (p->n >= 7) {
            tok_pretok_free(p);
            return owl_fail(err, OWL_ERR_INPUT, "tokenizer.json pre_tokenizer: more than 7 splitting steps");
        }
        owl_status st = len ? compile(p, at, len, "tokenizer.json Split", err) : compile(p, GPT2, strlen(GPT2), "ByteLevel", err);
        if (st) {
            tok_pretok_free(p);
            return st;
        }
        p->n++;
        if (!end) break;
        at = end + 1;
    }
    *ignore_merges = ignore;
    *out = p;
    return OWL_OK;
}

owl_status tok_pretok_new(const char *pre, tok_pretok **out, int *ignore_merges, owl_error *err) {
    static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
    pthread_once(&onig_once, onig_init_once); /* tokenizers may be opened from several threads */
    if (pre && pre[0] == TOK_PRETOK_REGEXES && (pre[1] == '0' || pre[1] == '1'))
        return new_from_regexes(pre + 2, pre[1] == '1', out, ignore_merges, err);
    const pre_def *d = NULL;
    const char *name = pre && *pre ? pre : "default";
    for (size_t i = 0; i < sizeof defs / sizeof defs[0] && !d; i++)
        if (name_in(defs[i].names, name)) d = &defs[i];
    if (!d) {
        if (name_in(unsupported, name))
            return owl_fail(err, OWL_ERR_UNSUPPORTED, "pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported yet", name);
        return owl_fail(err, OWL_ERR_INPUT, "unknown pre-tokenizer '%s' in tokenizer.ggml.pre", name);
    }
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (; p->n < 7 && d->regex[p->n]; p->n++) {
        owl_status st = compile(p, d->regex[p->n], strlen(d->regex[p->n]), name, err);
        if (st) {
            tok_pretok_free(p);
            return st;
        }
    }
    *ignore_merges = d->ignore_merges;
    *out = p;
    return OWL_OK;
}

void tok_pretok_free(tok_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) onig_free(p->re[i]);
    free(p);
}

typedef struct piece {
    size_t start, len;
    int raw; /* an invalid UTF-8 byte: no regex sees it */
} piece;

typedef struct pieces {
    piece *p;
    size_t n, cap;
} pieces;

static int add(pieces *v, size_t start, size_t len, int raw) {
    if (!len) return 1;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        piece *p = realloc(v->p, cap * sizeof *p);
        if (!p) return 0;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = (piece){start, len, raw};
    return 1;
}

/* Splits one piece with one regex: matches and the gaps between them. */
static owl_status split_one(regex_t *re, OnigRegion *rg, const char *s, piece pc, pieces *out, owl_error *err) {
    const UChar *base = (const UChar *)s + pc.start, *end = base + pc.len, *at = base;
    size_t prev = 0;
    while (at < end) {
        int r = onig_search(re, base, end, at, end, rg, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH) break;
        if (r < 0) {
            UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(msg, r);
            return owl_fail(err, OWL_ERR_INPUT, "tokenize: pre-tokenizer regex failed: %s", (const char *)msg);
        }
        size_t b = (size_t)rg->beg[0], e = (size_t)rg->end[0];
        if (e == b) { /* an empty match finds nothing to split off; step one character */
            size_t k = tok_utf8_len(base[b]);
            at = base + b + k;
            continue;
        }
        if (!add(out, pc.start + prev, b - prev, 0) || !add(out, pc.start + b, e - b, 0)) goto oom;
        prev = e;
        at = base + e;
    }
    if (!add(out, pc.start + prev, pc.len - prev, 0)) goto oom;
    return OWL_OK;
oom:
    return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
}

owl_status tok_pretok_split(const tok_pretok *p, const char *s, size_t n, tok_word_fn fn, void *ctx, owl_error *err) {
    pieces cur = {0}, next = {0};
    owl_status st = OWL_OK;
    OnigRegion *rg = onig_region_new();
    if (!rg) return owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
    /* Oniguruma must only see valid UTF-8: invalid bytes stand alone */
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tok_utf8_decode(s + i, n - i, &cp);
        if (k) {
            i += k;
            continue;
        }
        if (!add(&cur, run, i - run, 0) || !add(&cur, i, 1, 1)) goto oom;
        run = ++i;
    }
    if (!add(&cur, run, n - run, 0)) goto oom;
    for (int r = 0; r < p->n; r++) {
        next.n = 0;
        for (size_t i = 0; i < cur.n && st == OWL_OK; i++) {
            if (cur.p[i].raw) {
                if (!add(&next, cur.p[i].start, 1, 1)) goto oom;
            } else {
                st = split_one(p->re[r], rg, s, cur.p[i], &next, err);
            }
        }
        if (st) goto done;
        pieces tmp = cur;
        cur = next;
        next = tmp;
    }
    for (size_t i = 0; i < cur.n && st == OWL_OK; i++) st = fn(ctx, s + cur.p[i].start, cur.p[i].len, err);
    goto done;
oom:
    st = owl_fail(err, OWL_ERR_NOMEM, "tokenize: out of memory");
done:
    onig_region_free(rg, 1);
    free(cur.p);
    free(next.p);
    return st;
}
