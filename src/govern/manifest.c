/* manifest.c: provenance manifests: SHA-256 of every file, a digest of the
 * tensor data, tokenizer and chat-template digests, family, parameters and
 * licence, as canonical JSON (sorted keys, no whitespace); Ed25519 keys,
 * signatures over that canonical form, and verification against a model. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "owl.h"

#define MANIFEST_CAP (16u << 20)
#define KEY_CAP (64u << 10)
#define MAX_VOCAB (1u << 24)

static void hex32(const unsigned char md[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int md_update(EVP_MD_CTX *c, const void *p, size_t n) { return EVP_DigestUpdate(c, p, n) == 1; }

/* Name, dtype, shape and bytes of every tensor in order: a digest of the
 * weights as owl sees them, independent of file layout and metadata. */
static owl_status tensor_digest(const owl_model_info *in, char out[65], owl_error *err) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < in->n_tensors; i++) {
        const owl_tensor *t = &in->tensors[i];
        uint64_t hdr[2 + OWL_MAX_DIMS] = {(uint64_t)t->dtype, (uint64_t)t->n_dims};
        for (int d = 0; d < t->n_dims && d < OWL_MAX_DIMS; d++) hdr[2 + d] = t->ne[d];
        ok = md_update(c, t->name, strlen(t->name) + 1) && md_update(c, hdr, sizeof hdr) &&
             (!t->data || md_update(c, t->data, t->n_bytes));
    }
    unsigned char md[32];
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(c, md, &n) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) return owl_fail(err, OWL_ERR_NOMEM, "manifest: OpenSSL digest failed");
    hex32(md, out);
    return OWL_OK;
}

owl_status owl_model_tensor_digest(const owl_model *m, char hex[65], owl_error *err) {
    return tensor_digest(owl_model_get_info(m), hex, err);
}

static owl_status string_digest(const char *s, size_t n, char out[65], owl_error *err) {
    unsigned char md[32];
    unsigned int k = 0;
    if (EVP_Digest(s, n, md, &k, EVP_sha256(), NULL) != 1) return owl_fail(err, OWL_ERR_NOMEM, "manifest: digest failed");
    hex32(md, out);
    return OWL_OK;
}

/* Every token's text, length-prefixed, in id order, after the tokenizer kind. */
static owl_status tokenizer_digest(const owl_model *m, char out[65], int *have, owl_error *err) {
    *have = 0;
    owl_tokenizer *tk = NULL;
    owl_error ignored = {0};
    if (owl_tokenizer_new(m, &tk, &ignored)) return OWL_OK; /* no tokenizer: the field is null */
    const owl_model_info *in = owl_model_get_info(m);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    const char *kind = in->tokenizer.kind ? in->tokenizer.kind : "";
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && md_update(c, kind, strlen(kind) + 1);
    const char *s;
    size_t len;
    for (int32_t id = 0; ok && id < (int32_t)MAX_VOCAB && (s = owl_token_text(tk, id, &len)); id++) {
        uint32_t l = (uint32_t)len;
        ok = md_update(c, &l, 4) && md_update(c, s, len);
    }
    unsigned char md[32];
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(c, md, &n) == 1;
    EVP_MD_CTX_free(c);
    owl_tokenizer_free(tk);
    if (!ok) return owl_fail(err, OWL_ERR_NOMEM, "manifest: OpenSSL digest failed");
    hex32(md, out);
    *have = 1;
    return OWL_OK;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The manifest as a JSON tree (the caller owns it). */
static owl_status manifest_tree(const owl_model *m, const char *source, json_t **out, owl_error *err) {
    const owl_model_info *in = owl_model_get_info(m);
    json_t *root = json_object(), *files = json_array();
    owl_status st = OWL_OK;
    for (size_t i = 0; !st && i < in->n_files; i++) {
        char hex[65];
        if ((st = owl_sha256_file(in->files[i].path, hex, NULL, NULL, err))) break;
        json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s}", "path", base_name(in->files[i].path), "role",
                                               in->files[i].role ? in->files[i].role : "", "size",
                                               (json_int_t)in->files[i].size, "sha256", hex));
    }
    char td[65], tk[65], ct[65];
    int have_tk = 0;
    if (!st) st = tensor_digest(in, td, err);
    if (!st) st = tokenizer_digest(m, tk, &have_tk, err);
    if (!st && in->chat_template) st = string_digest(in->chat_template, strlen(in->chat_template), ct, err);
    owl_license_detection d;
    if (!st) st = owl_license_detect(m, &d, err);
    if (st) {
        json_decref(files);
        json_decref(root);
        return st;
    }
    uint64_t params = 0, bytes = 0;
    owl_model_totals(m, &params, &bytes);
    json_object_set_new(root, "owl_manifest", json_integer(1));
    json_object_set_new(root, "format", json_string(owl_format_name(in->format)));
    json_object_set_new(root, "family", json_string(in->family ? in->family : "unknown"));
    json_object_set_new(root, "architecture", in->architecture ? json_string(in->architecture) : json_null());
    json_object_set_new(root, "name", in->name ? json_string(in->name) : json_null());
    json_object_set_new(root, "parameters", json_integer((json_int_t)params));
    json_object_set_new(root, "tensor_bytes", json_integer((json_int_t)bytes));
    json_object_set_new(root, "n_tensors", json_integer((json_int_t)in->n_tensors));
    json_object_set_new(root, "tensor_data_sha256", json_string(td));
    json_object_set_new(root, "tokenizer_sha256", have_tk ? json_string(tk) : json_null());
    json_object_set_new(root, "chat_template_sha256", in->chat_template ? json_string(ct) : json_null());
    json_object_set_new(root, "license", d.terms ? json_string(d.terms->id) : json_null());
    json_object_set_new(root, "source", json_string(source ? base_name(source) : ""));
    json_object_set_new(root, "files", files);
    *out = root;
    return OWL_OK;
}

static char *canonical(const json_t *t) { return json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII); }

owl_status owl_manifest_build(const owl_model *m, const char *source, char **out, owl_error *err) {
    json_t *root = NULL;
    owl_status st = manifest_tree(m, source, &root, err);
    if (st) return st;
    *out = canonical(root);
    json_decref(root);
    return *out ? OWL_OK : owl_fail(err, OWL_ERR_NOMEM, "manifest: out of memory");
}

static owl_status load_json(const char *path, size_t cap, json_t **out, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return owl_fail(err, OWL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    if (n > cap) {
        free(buf);
        return owl_fail(err, OWL_ERR_INPUT, "%s: larger than %zu bytes", path, cap);
    }
    json_error_t je;
    *out = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return owl_fail(err, OWL_ERR_INPUT, "%s: line %d column %d: expected a JSON object (%s)", path, je.line, je.column,
                        je.text[0] ? je.text : "found another value");
    }
    return OWL_OK;
}

static owl_status read_key(const char *path, int private_key, EVP_PKEY **out, owl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return owl_fail(err, OWL_ERR_IO, "%s: cannot open key: %s", path, strerror(errno));
    *out = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!*out || EVP_PKEY_id(*out) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(*out);
        *out = NULL;
        return owl_fail(err, OWL_ERR_INPUT, "%s: expected a PEM Ed25519 %s key", path, private_key ? "private" : "public");
    }
    return OWL_OK;
}

static owl_status write_text(const char *path, const char *text, size_t n, owl_error *err) {
    owl_atomic_file f;
    owl_status st = owl_atomic_open(&f, path, err);
    if (st) return st;
    owl_atomic_write(&f, text, n);
    return owl_atomic_commit(&f, err);
}

static owl_status write_pem(const char *path, EVP_PKEY *k, int private_key, owl_error *err) {
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && (private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_PUBKEY(b, k));
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    owl_status st = ok && n > 0 ? write_text(path, p, (size_t)n, err) : owl_fail(err, OWL_ERR_NOMEM, "%s: cannot encode key", path);
    BIO_free(b);
    return st;
}

owl_status owl_keygen(const char *private_path, const char *public_path, owl_error *err) {
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &k) != 1) {
        EVP_PKEY_CTX_free(c);
        return owl_fail(err, OWL_ERR_NOMEM, "keygen: OpenSSL could not make an Ed25519 key");
    }
    EVP_PKEY_CTX_free(c);
    owl_status st = write_pem(private_path, k, 1, err);
    if (!st) st = write_pem(public_path, k, 0, err);
    EVP_PKEY_free(k);
    return st;
}

static owl_status raw_public_hex(EVP_PKEY *k, char out[65], owl_error *err) {
    unsigned char raw[32];
    size_t n = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != 32) return owl_fail(err, OWL_ERR_INPUT, "key: no raw Ed25519 public key");
    hex32(raw, out);
    return OWL_OK;
}

owl_status owl_manifest_sign(const char *manifest_path, const char *key_path, owl_error *err) {
    json_t *root = NULL;
    EVP_PKEY *k = NULL;
    owl_status st = load_json(manifest_path, MANIFEST_CAP, &root, err);
    if (!st) st = read_key(key_path, 1, &k, err);
    char *body = NULL, *text = NULL;
    if (!st) {
        json_object_del(root, "signature");
        body = canonical(root);
        if (!body) st = owl_fail(err, OWL_ERR_NOMEM, "sign: out of memory");
    }
    unsigned char sig[64];
    size_t siglen = sizeof sig;
    if (!st) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || EVP_DigestSignInit(c, NULL, NULL, NULL, k) != 1 ||
            EVP_DigestSign(c, sig, &siglen, (const unsigned char *)body, strlen(body)) != 1 || siglen != 64)
            st = owl_fail(err, OWL_ERR_NOMEM, "sign: OpenSSL Ed25519 signing failed");
        EVP_MD_CTX_free(c);
    }
    char pub[65], sighex[129];
    if (!st) st = raw_public_hex(k, pub, err);
    if (!st) {
        for (int i = 0; i < 64; i++) snprintf(sighex + 2 * i, 3, "%02x", sig[i]);
        json_object_set_new(root, "signature", json_pack("{s:s, s:s, s:s}", "alg", "ed25519", "public_key", pub, "value", sighex));
        text = canonical(root);
        if (!text) st = owl_fail(err, OWL_ERR_NOMEM, "sign: out of memory");
    }
    if (!st) {
        size_t n = strlen(text);
        text[n] = '\n';
        st = write_text(manifest_path, text, n + 1, err);
    }
    free(body);
    free(text);
    EVP_PKEY_free(k);
    json_decref(root);
    return st;
}

static int unhex(const char *s, unsigned char *out, size_t n) {
    if (!s || strlen(s) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99);
        }
        if (v > 255) return 0;
        out[i] = (unsigned char)v;
    }
    return 1;
}

/* The first field where two manifests differ, for a message a person can act on. */
static void first_difference(json_t *want, json_t *got, char *out, size_t cap) {
    json_t *wf = json_object_get(want, "files"), *gf = json_object_get(got, "files");
    size_t i;
    json_t *w;
    json_array_foreach(wf, i, w) {
        json_t *g = json_array_get(gf, i);
        if (!g || !json_equal(w, g)) {
            snprintf(out, cap, "file %s: sha256 %.16s... in the manifest, %.16s... now",
                     json_string_value(json_object_get(w, "path")), json_string_value(json_object_get(w, "sha256")),
                     g ? json_string_value(json_object_get(g, "sha256")) : "(missing)");
            return;
        }
    }
    const char *k;
    json_object_foreach(want, k, w) {
        if (!json_equal(w, json_object_get(got, k))) {
            snprintf(out, cap, "field \"%s\" differs", k);
            return;
        }
    }
    snprintf(out, cap, "the model has fields the manifest lacks");
}

owl_status owl_manifest_verify(const owl_model *m, const char *manifest_path, const char *pubkey_path, owl_error *err) {
    json_t *root = NULL, *now = NULL;
    EVP_PKEY *k = NULL;
    char *body = NULL;
    owl_status st = load_json(manifest_path, MANIFEST_CAP, &root, err);
    json_t *sig = st ? NULL : json_incref(json_object_get(root, "signature"));
    if (!st) json_object_del(root, "signature");
    if (!st && pubkey_path) {
        if (!json_is_object(sig)) st = owl_fail(err, OWL_ERR_DENIED, "%s: the manifest is not signed", manifest_path);
        else if ((st = read_key(pubkey_path, 0, &k, err))) {
        } else {
            unsigned char sv[64];
            const char *alg = json_string_value(json_object_get(sig, "alg"));
            body = canonical(root);
            EVP_MD_CTX *c = EVP_MD_CTX_new();
            int ok = alg && !strcmp(alg, "ed25519") && unhex(json_string_value(json_object_get(sig, "value")), sv, 64) &&
                     body && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
                     EVP_DigestVerify(c, sv, 64, (const unsigned char *)body, strlen(body)) == 1;
            EVP_MD_CTX_free(c);
            if (!ok) st = owl_fail(err, OWL_ERR_DENIED, "%s: the signature does not verify with the public key %s", manifest_path, pubkey_path);
        }
    }
    if (!st) st = manifest_tree(m, NULL, &now, err);
    if (!st) {
        json_object_set(now, "source", json_object_get(root, "source") ? json_object_get(root, "source") : json_string(""));
        if (!json_equal(root, now)) {
            char why[512];
            first_difference(root, now, why, sizeof why);
            st = owl_fail(err, OWL_ERR_DENIED, "%s: the model does not match the manifest: %s", manifest_path, why);
        }
    }
    free(body);
    EVP_PKEY_free(k);
    json_decref(sig);
    json_decref(now);
    json_decref(root);
    return st;
}
