/* safetensors_files.c: safetensors from disk: one file opened by itself, and
 * sharded checkpoints whose model.safetensors.index.json says which shard
 * holds each tensor (shard names are trusted only as plain file names). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/json_fields.h"
#include "formats/safetensors.h"
#include "model/names.h"

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

owl_status owl_load_safetensors_file(owl_model *m, const char *path, owl_error *err) {
    json_t *meta = NULL;
    size_t first = m->n_tensors;
    m->info.format = OWL_FORMAT_SAFETENSORS;
    owl_status st = owl_safetensors_load(m, path, "weights", &meta, err);
    if (st == OWL_OK) st = owl_model_canonical_names(m, first, NULL, err);
    if (st == OWL_OK && !(m->info.name = owl_model_strdup(m, base_name(path))))
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    if (st == OWL_OK && !m->metadata) {
        m->metadata = meta ? meta : json_object();
        meta = NULL;
    }
    if (meta) json_decref(meta);
    return st;
}

/* ---- sharded checkpoints ------------------------------------------------ */

/* A shard must be a plain file name beside the index: never a path. */
static owl_status check_shard_name(const char *shard, const char *tensor, const char *path, owl_error *err) {
    char a[160], b[160];
    const char *why = NULL;
    if (!*shard) why = "is empty";
    else if (shard[0] == '/') why = "is an absolute path";
    else if (strchr(shard, '/') || strchr(shard, '\\')) why = "names another directory";
    else if (strcmp(shard, ".") == 0 || strcmp(shard, "..") == 0) why = "is not a file name";
    if (!why) return OWL_OK;
    return owl_fail(err, OWL_ERR_INPUT,
                    "%s: weight_map: shard '%s' for tensor '%s' %s (expected a file name in the index's directory)",
                    path, owl_printable(shard, a, sizeof a), owl_printable(tensor, b, sizeof b), why);
}

typedef struct shard {
    const char *name; /* points into the index JSON */
    int file;
} shard;

static int find_shard(const shard *shards, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(shards[i].name, name) == 0) return (int)i;
    return -1;
}

static const owl_tensor *sort_base;
static int by_source_name(const void *a, const void *b) {
    return strcmp(sort_base[*(const size_t *)a].source_name, sort_base[*(const size_t *)b].source_name);
}

/* Index of the tensor named `name` among the sorted indices, or -1. */
static long find_tensor(const owl_tensor *t, const size_t *sorted, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t[sorted[mid]].source_name);
        if (c == 0) return (long)mid;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return -1;
}

/* Every tensor the shards hold is in the shard the index names, once. */
static owl_status check_placement(owl_model *m, size_t first, const json_t *map, const shard *shards, size_t n_shards,
                                  const char *path, owl_error *err) {
    size_t n = m->n_tensors - first;
    size_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    unsigned char *listed = calloc(n ? n : 1, 1);
    owl_status st = OWL_OK;
    char a[160], b[160];
    if (!sorted || !listed) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) sorted[i] = first + i;
    sort_base = m->tensors; /* qsort has no context argument in C11 */
    qsort(sorted, n, sizeof *sorted, by_source_name);
    for (size_t i = 1; i < n; i++) {
        const owl_tensor *x = &m->tensors[sorted[i - 1]], *y = &m->tensors[sorted[i]];
        if (strcmp(x->source_name, y->source_name) == 0) {
            st = owl_fail(err, OWL_ERR_INPUT, "%s: tensor '%s' appears in two shards: %s and %s", path,
                          owl_printable(x->source_name, a, sizeof a), base_name(m->files[x->file].path),
                          base_name(m->files[y->file].path));
            goto out;
        }
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)map, name, v) {
        const shard *s = &shards[find_shard(shards, n_shards, json_string_value(v))];
        long k = find_tensor(m->tensors, sorted, n, name);
        if (k < 0 || m->tensors[sorted[k]].file != s->file) {
            st = owl_fail(err, OWL_ERR_INPUT, "%s: weight_map puts tensor '%s' in %s, but %s", path,
                          owl_printable(name, a, sizeof a), owl_printable(s->name, b, sizeof b),
                          k < 0 ? "no shard holds it" : "that shard does not hold it");
            goto out;
        }
        listed[k] = 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!listed[i]) {
            const owl_tensor *t = &m->tensors[sorted[i]];
            st = owl_fail(err, OWL_ERR_INPUT, "%s: shard %s holds tensor '%s', which the weight_map does not list",
                          path, base_name(m->files[t->file].path), owl_printable(t->source_name, a, sizeof a));
            goto out;
        }
out:
    free(sorted);
    free(listed);
    return st;
}

/* Collects the distinct shard names in order of first mention. */
static owl_status list_shards(const json_t *map, shard **out, size_t *n_out, const char *path, owl_error *err) {
    size_t n = 0, cap = json_object_size(map) ? json_object_size(map) : 1;
    shard *shards = malloc(cap * sizeof *shards);
    char a[160], found[96];
    if (!shards) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)map, name, v) {
        owl_status st = OWL_OK;
        if (!json_is_string(v))
            st = owl_fail(err, OWL_ERR_INPUT, "%s: weight_map: tensor '%s': expected a shard file name, found %s",
                          path, owl_printable(name, a, sizeof a), owl_json_describe(v, found, sizeof found));
        else st = check_shard_name(json_string_value(v), name, path, err);
        if (st == OWL_OK && find_shard(shards, n, json_string_value(v)) < 0) {
            if (n >= OWL_MAX_FILES)
                st = owl_fail(err, OWL_ERR_INPUT, "%s: weight_map names more than %d shards", path, OWL_MAX_FILES);
            else shards[n++] = (shard){json_string_value(v), -1};
        }
        if (st) {
            free(shards);
            return st;
        }
    }
    *out = shards;
    *n_out = n;
    return OWL_OK;
}

static owl_status load_shards(owl_model *m, const char *dir, shard *shards, size_t n, const char *path,
                              owl_error *err) {
    char a[160];
    for (size_t i = 0; i < n; i++) {
        char *p = owl_path_join(dir, shards[i].name);
        if (!p) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        owl_status st = OWL_OK;
        if (!owl_path_exists(p))
            st = owl_fail(err, OWL_ERR_INPUT, "%s: weight_map names shard '%s', which does not exist", path,
                          owl_printable(shards[i].name, a, sizeof a));
        else if ((st = owl_safetensors_load(m, p, "weights", NULL, err)) == OWL_OK)
            shards[i].file = (int)m->n_files - 1;
        free(p);
        if (st) return st;
    }
    return OWL_OK;
}

owl_status owl_safetensors_load_index(owl_model *m, const char *index_path, json_t **meta, owl_error *err) {
    char *text, *dir = NULL, found[96];
    size_t len;
    json_t *root = NULL;
    shard *shards = NULL;
    size_t n_shards = 0, first = m->n_tensors;
    if (meta) *meta = NULL;
    owl_status st = owl_read_small_file(index_path, OWL_MAX_CONFIG_BYTES, &text, &len, err);
    if (st) return st;
    st = owl_json_parse_object(text, len, index_path, &root, err);
    free(text);
    if (st) return st;
    if (owl_model_add_file(m, index_path, "weights_index", NULL, len, err) < 0) {
        st = err ? err->status : OWL_ERR_NOMEM;
        goto out;
    }
    const char *path = m->files[m->n_files - 1].path;
    json_t *map = json_object_get(root, "weight_map"), *md = json_object_get(root, "metadata");
    if (!json_is_object(map)) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: weight_map: expected an object of tensor -> shard file, found %s",
                      path, map ? owl_json_describe(map, found, sizeof found) : "nothing");
        goto out;
    }
    if (md && !json_is_object(md) && !json_is_null(md)) {
        st = owl_fail(err, OWL_ERR_INPUT, "%s: metadata: expected an object, found %s", path,
                      owl_json_describe(md, found, sizeof found));
        goto out;
    }
    const char *slash = strrchr(index_path, '/');
    dir = slash ? strndup(index_path, (size_t)(slash - index_path + 1)) : strdup(".");
    if (!dir) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = list_shards(map, &shards, &n_shards, path, err)) ||
        (st = load_shards(m, dir, shards, n_shards, path, err)) ||
        (st = check_placement(m, first, map, shards, n_shards, path, err)))
        goto out;
    if (meta && json_is_object(md)) *meta = json_incref(md);
out:
    free(shards);
    free(dir);
    json_decref(root);
    return st;
}
