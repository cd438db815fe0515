/* auth.c: API keys: a file of ID:KEY lines read at start, and the check of a
 * request's bearer key against every key in constant time, so that neither
 * timing nor logs (which show the id) give a key away. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"

owl_status serve_load_keys(owl_server *s, const char *path, owl_error *err) {
    char *text = serve_read_file(path, 1 << 20, err);
    if (!text) return err ? err->status : OWL_ERR_IO;
    char *save = NULL;
    int line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t n = strlen(l);
        while (n && (l[n - 1] == '\r' || l[n - 1] == ' ')) l[--n] = 0;
        if (!n || l[0] == '#') continue;
        char *colon = strchr(l, ':');
        if (!colon || colon == l || !colon[1] || strlen(colon + 1) < 16) {
            free(text);
            return owl_fail(err, OWL_ERR_INPUT, "%s line %d: expected ID:KEY with a key of 16+ characters", path, line);
        }
        if (s->n_keys == MAX_KEYS) { free(text); return owl_fail(err, OWL_ERR_INPUT, "%s: more than %d keys", path, MAX_KEYS); }
        *colon = 0;
        s->key_id[s->n_keys] = strdup(l);
        s->key[s->n_keys] = strdup(colon + 1);
        s->n_keys++;
    }
    free(text);
    if (!s->n_keys) return owl_fail(err, OWL_ERR_INPUT, "%s: no keys", path);
    return OWL_OK;
}

/* The id of the key presented, or NULL. Every key is compared, in constant time. */
const char *serve_auth_check(const owl_server *s, const char *hdr) {
    if (!hdr || strncmp(hdr, "Bearer ", 7)) return NULL;
    const char *k = hdr + 7;
    size_t kl = strlen(k);
    const char *found = NULL;
    for (size_t i = 0; i < s->n_keys; i++) {
        size_t l = strlen(s->key[i]);
        if (l == kl && CRYPTO_memcmp(s->key[i], k, l) == 0) found = s->key_id[i];
    }
    return found;
}
