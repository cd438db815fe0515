/* audit.c: the append-only audit log: JSON lines, each holding its sequence
 * number and the SHA-256 of the line before (a hash chain), appended with
 * O_APPEND in one write under an exclusive lock; and its verification. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "owl.h"

#define LINE_CAP (1u << 20)
static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

static int line_hash(const char *p, size_t n, char out[65]) {
    unsigned char md[32];
    unsigned int k = 0;
    if (EVP_Digest(p, n, md, &k, EVP_sha256(), NULL) != 1) return 0;
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 1;
}

/* The last line of the file (without its newline) into a malloc'd buffer; NULL and *n = 0 if empty. */
static owl_status last_line(int fd, const char *path, char **out, size_t *n, owl_error *err) {
    *out = NULL, *n = 0;
    struct stat st;
    if (fstat(fd, &st)) return owl_fail(err, OWL_ERR_IO, "%s: %s", path, strerror(errno));
    if (st.st_size == 0) return OWL_OK;
    size_t want = st.st_size > (off_t)LINE_CAP + 1 ? LINE_CAP + 1 : (size_t)st.st_size;
    char *buf = malloc(want + 1);
    if (!buf) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
    ssize_t got = pread(fd, buf, want, st.st_size - (off_t)want);
    if (got != (ssize_t)want) {
        free(buf);
        return owl_fail(err, OWL_ERR_IO, "%s: cannot read the last line", path);
    }
    if (buf[want - 1] != '\n') {
        free(buf);
        return owl_fail(err, OWL_ERR_INPUT, "%s: the last line is not terminated (a torn write?): refusing to extend it", path);
    }
    size_t end = want - 1, start = end;
    while (start > 0 && buf[start - 1] != '\n') start--;
    if (start == 0 && (off_t)want < st.st_size) {
        free(buf);
        return owl_fail(err, OWL_ERR_INPUT, "%s: the last line is longer than %u bytes", path, LINE_CAP);
    }
    memmove(buf, buf + start, end - start);
    buf[end - start] = 0;
    *out = buf, *n = end - start;
    return OWL_OK;
}

owl_status owl_audit_append(const char *path, const char *event_json, owl_error *err) {
    json_error_t je;
    json_t *ev = json_loads(event_json, 0, &je);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return owl_fail(err, OWL_ERR_USAGE, "audit event: expected a JSON object (%s)", je.text);
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        json_decref(ev);
        return owl_fail(err, OWL_ERR_IO, "%s: cannot open audit log: %s", path, strerror(errno));
    }
    /* the lock makes read-last-line, hash and append one step for every writer */
    while (flock(fd, LOCK_EX) && errno == EINTR) {}
    char *prev = NULL;
    size_t prev_n = 0;
    owl_status st = last_line(fd, path, &prev, &prev_n, err);
    json_int_t seq = 1;
    char ph[65];
    memcpy(ph, zero_hash, 65);
    if (!st && prev) {
        json_t *p = json_loadb(prev, prev_n, 0, NULL);
        json_t *s = json_object_get(p, "seq");
        if (!json_is_integer(s)) st = owl_fail(err, OWL_ERR_INPUT, "%s: the last line has no \"seq\": not an owl audit log", path);
        else seq = json_integer_value(s) + 1;
        json_decref(p);
        if (!st && !line_hash(prev, prev_n, ph)) st = owl_fail(err, OWL_ERR_NOMEM, "audit: digest failed");
    }
    char *line = NULL;
    if (!st) {
        json_object_set_new(ev, "seq", json_integer(seq));
        json_object_set_new(ev, "prev", json_string(ph));
        line = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!line) st = owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
    }
    if (!st) {
        size_t n = strlen(line);
        char *l2 = realloc(line, n + 2);
        if (!l2) st = owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
        else {
            line = l2;
            line[n] = '\n';
            ssize_t w = write(fd, line, n + 1); /* one write: O_APPEND keeps it whole */
            if (w != (ssize_t)(n + 1)) st = owl_fail(err, OWL_ERR_IO, "%s: audit append failed: %s", path, w < 0 ? strerror(errno) : "short write");
            else if (fdatasync(fd)) st = owl_fail(err, OWL_ERR_IO, "%s: fdatasync: %s", path, strerror(errno));
        }
    }
    flock(fd, LOCK_UN);
    close(fd);
    free(line);
    free(prev);
    json_decref(ev);
    return st;
}

owl_status owl_audit_verify(const char *path, uint64_t *n_lines, uint64_t *bad_line, char *why, size_t why_cap, owl_error *err) {
    *n_lines = 0, *bad_line = 0;
    if (why && why_cap) why[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return owl_fail(err, OWL_ERR_IO, "%s: cannot open audit log: %s", path, strerror(errno));
    char *line = malloc(LINE_CAP + 2);
    if (!line) {
        fclose(f);
        return owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
    }
    char ph[65];
    memcpy(ph, zero_hash, 65);
    uint64_t no = 0;
    owl_status st = OWL_OK;
    for (;;) {
        size_t n = 0;
        int c = 0;
        while (n <= LINE_CAP && (c = fgetc(f)) != EOF && c != '\n') line[n++] = (char)c;
        if (c == EOF && n == 0) break;
        no++;
        const char *bad = NULL;
        char detail[160] = "";
        if (n > LINE_CAP) bad = "longer than the line cap";
        else if (c == EOF) bad = "not terminated by a newline (torn write)";
        json_t *o = bad ? NULL : json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
        if (!bad && !json_is_object(o)) bad = "not a JSON object";
        if (!bad) {
            json_t *s = json_object_get(o, "seq");
            const char *p = json_string_value(json_object_get(o, "prev"));
            if (!json_is_integer(s) || json_integer_value(s) != (json_int_t)no) {
                bad = "sequence number out of order (a line was deleted, inserted or moved)";
                snprintf(detail, sizeof detail, ": expected seq %llu", (unsigned long long)no);
            } else if (!p || strcmp(p, ph)) {
                bad = "\"prev\" is not the SHA-256 of the line before";
                snprintf(detail, sizeof detail, " (line %llu was edited, or this line was inserted or moved)",
                         (unsigned long long)(no - 1));
            }
        }
        json_decref(o);
        if (bad) {
            *bad_line = no;
            if (why) snprintf(why, why_cap, "line %llu: %s%s", (unsigned long long)no, bad, detail);
            break;
        }
        if (!line_hash(line, n, ph)) {
            st = owl_fail(err, OWL_ERR_NOMEM, "audit: digest failed");
            break;
        }
        if (c == EOF) break;
    }
    *n_lines = no;
    free(line);
    fclose(f);
    return st;
}
