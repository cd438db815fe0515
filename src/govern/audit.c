/* audit.c: the append-only audit log: JSON lines, each holding its sequence
 * number and the SHA-256 of the line before (a hash chain), appended with
 * O_APPEND in one write under an exclusive lock and fdatasync'd; an open log
 * keeps the chain's tail so a server appends without re-reading; and the
 * chain's verification. Beside the log, LOG.head holds the last line's seq
 * and hash, rewritten in place after every append: a chain alone cannot show
 * that lines were cut from its end, the head can. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "owl.h"

#define LINE_CAP OWL_AUDIT_LINE_CAP
#define TAIL_CHUNK (64u << 10)
static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

struct owl_audit_log {
    char *path;
    int fd;
    pthread_mutex_t lock; /* this process's threads, one append at a time; flock covers other processes */
    off_t end;            /* the file's size after the last line this handle saw */
    json_int_t seq;       /* the last line's sequence number (0: empty log) */
    char prev[65];        /* the last line's SHA-256 */
    int head_fd;          /* LOG.head, or -1 */
};

/* One fixed-size record, so an in-place rewrite never leaves a mix of two. */
#define HEAD_FMT "{\"seq\":%020lld,\"hash\":\"%s\"}\n"
#define HEAD_LEN (8 + 20 + 9 + 64 + 3)

static char *head_path(const char *path) {
    size_t n = strlen(path);
    char *p = malloc(n + 6);
    if (p) memcpy(p, path, n), memcpy(p + n, ".head", 6);
    return p;
}

static int write_head(int fd, json_int_t seq, const char *hash) {
    char rec[HEAD_LEN + 1];
    snprintf(rec, sizeof rec, HEAD_FMT, (long long)seq, hash);
    return pwrite(fd, rec, HEAD_LEN, 0) == HEAD_LEN && fdatasync(fd) == 0;
}

/* The head's seq and hash; 0 when there is none or it cannot be read. */
static int read_head(const char *path, long long *seq, char hash[65]) {
    char *hp = head_path(path);
    FILE *f = hp ? fopen(hp, "rb") : NULL;
    free(hp);
    if (!f) return 0;
    char rec[HEAD_LEN + 1] = {0};
    size_t got = fread(rec, 1, HEAD_LEN, f);
    fclose(f);
    return got == HEAD_LEN && sscanf(rec, "{\"seq\":%lld,\"hash\":\"%64[0-9a-f]\"}", seq, hash) == 2 && strlen(hash) == 64;
}

static int line_hash(const char *p, size_t n, char out[65]) {
    unsigned char md[32];
    unsigned int k = 0;
    if (EVP_Digest(p, n, md, &k, EVP_sha256(), NULL) != 1) return 0;
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 1;
}

/* The last line of the first size bytes (without its newline) into a malloc'd
 * buffer; NULL and *n = 0 if empty. Reads backwards in growing chunks, so a
 * long log costs one small read. */
static owl_status last_line(int fd, const char *path, off_t size, char **out, size_t *n, owl_error *err) {
    *out = NULL, *n = 0;
    if (size == 0) return OWL_OK;
    for (size_t want = TAIL_CHUNK;; want *= 2) {
        if (want > LINE_CAP + 1) want = LINE_CAP + 1;
        if ((off_t)want > size) want = (size_t)size;
        char *buf = malloc(want + 1);
        if (!buf) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
        ssize_t got = pread(fd, buf, want, size - (off_t)want);
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
        if (start > 0 || (off_t)want == size) {
            memmove(buf, buf + start, end - start);
            buf[end - start] = 0;
            *out = buf, *n = end - start;
            return OWL_OK;
        }
        free(buf);
        if (want == LINE_CAP + 1) return owl_fail(err, OWL_ERR_INPUT, "%s: the last line is longer than %u bytes", path, LINE_CAP);
    }
}

/* Reads the chain's tail (seq and hash of the last line) up to the file's current end. Call under flock. */
static owl_status load_tail(owl_audit_log *log, owl_error *err) {
    struct stat st;
    if (fstat(log->fd, &st)) return owl_fail(err, OWL_ERR_IO, "%s: %s", log->path, strerror(errno));
    char *prev = NULL;
    size_t prev_n = 0;
    owl_status s = last_line(log->fd, log->path, st.st_size, &prev, &prev_n, err);
    if (s) return s;
    json_int_t seq = 0;
    char ph[65];
    memcpy(ph, zero_hash, 65);
    if (prev) {
        json_t *p = json_loadb(prev, prev_n, 0, NULL);
        json_t *sq = json_object_get(p, "seq");
        if (!json_is_integer(sq) || json_integer_value(sq) < 1)
            s = owl_fail(err, OWL_ERR_INPUT, "%s: the last line has no \"seq\": not an owl audit log", log->path);
        else seq = json_integer_value(sq);
        json_decref(p);
        if (!s && !line_hash(prev, prev_n, ph)) s = owl_fail(err, OWL_ERR_NOMEM, "audit: digest failed");
        free(prev);
    }
    if (s) return s;
    log->end = st.st_size;
    log->seq = seq;
    memcpy(log->prev, ph, 65);
    return OWL_OK;
}

static void lock_file(int fd) {
    while (flock(fd, LOCK_EX) && errno == EINTR) {}
}

owl_status owl_audit_open(const char *path, owl_audit_log **out, owl_error *err) {
    *out = NULL;
    owl_audit_log *log = calloc(1, sizeof *log);
    if (!log || !(log->path = strdup(path))) {
        free(log);
        return owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
    }
    log->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log->fd < 0) {
        owl_status s = owl_fail(err, OWL_ERR_IO, "%s: cannot open audit log: %s", path, strerror(errno));
        free(log->path);
        free(log);
        return s;
    }
    pthread_mutex_init(&log->lock, NULL);
    char *hp = head_path(path);
    log->head_fd = hp ? open(hp, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    free(hp);
    lock_file(log->fd);
    owl_status s = log->head_fd < 0 ? owl_fail(err, OWL_ERR_IO, "%s.head: cannot open: %s", path, strerror(errno))
                                    : load_tail(log, err);
    long long hseq = 0;
    char hhash[65];
    if (!s && read_head(path, &hseq, hhash) &&
        (hseq > (long long)log->seq || (hseq == (long long)log->seq && hseq > 0 && strcmp(hhash, log->prev) != 0)))
        /* appending now would overwrite the evidence that lines were cut */
        s = owl_fail(err, OWL_ERR_INPUT, "%s: its head records %lld lines but the log ends at line %lld (lines were "
                     "cut from its end): refusing to append; see owl audit verify", path, hseq, (long long)log->seq);
    if (!s && !write_head(log->head_fd, log->seq, log->prev)) /* a log from before heads gets one now */
        s = owl_fail(err, OWL_ERR_IO, "%s.head: cannot write: %s", path, strerror(errno));
    flock(log->fd, LOCK_UN);
    if (s) {
        owl_audit_close(log);
        return s;
    }
    *out = log;
    return OWL_OK;
}

void owl_audit_close(owl_audit_log *log) {
    if (!log) return;
    close(log->fd);
    if (log->head_fd >= 0) close(log->head_fd);
    pthread_mutex_destroy(&log->lock);
    free(log->path);
    free(log);
}

owl_status owl_audit_write(owl_audit_log *log, const char *event_json, uint64_t *seq_out, owl_error *err) {
    json_error_t je;
    json_t *ev = json_loads(event_json, 0, &je);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return owl_fail(err, OWL_ERR_USAGE, "audit event: expected a JSON object (%s)", je.text);
    }
    pthread_mutex_lock(&log->lock);
    /* the lock makes check-tail, hash and append one step for every writer */
    lock_file(log->fd);
    owl_status st = OWL_OK;
    struct stat fs;
    if (fstat(log->fd, &fs)) st = owl_fail(err, OWL_ERR_IO, "%s: %s", log->path, strerror(errno));
    else if (fs.st_size != log->end) st = load_tail(log, err); /* another writer appended: continue after its line */
    char *line = NULL;
    size_t n = 0;
    if (!st) {
        json_object_set_new(ev, "seq", json_integer(log->seq + 1));
        json_object_set_new(ev, "prev", json_string(log->prev));
        /* reals to 12 digits: a float setting's noise past that says nothing */
        line = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
        if (!line) st = owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
        else if ((n = strlen(line)) > LINE_CAP) st = owl_fail(err, OWL_ERR_INPUT, "audit event: %zu bytes, over the line cap of %u", n, LINE_CAP);
    }
    char h[65];
    if (!st) {
        char *l2 = realloc(line, n + 2);
        if (!l2) st = owl_fail(err, OWL_ERR_NOMEM, "audit: out of memory");
        else line = l2, line[n] = '\n';
        if (!st && !line_hash(line, n, h)) st = owl_fail(err, OWL_ERR_NOMEM, "audit: digest failed");
    }
    if (!st) {
        ssize_t w = write(log->fd, line, n + 1); /* one write: O_APPEND keeps it whole */
        if (w != (ssize_t)(n + 1)) st = owl_fail(err, OWL_ERR_IO, "%s: audit append failed: %s", log->path, w < 0 ? strerror(errno) : "short write");
        else if (fdatasync(log->fd)) st = owl_fail(err, OWL_ERR_IO, "%s: fdatasync: %s", log->path, strerror(errno));
        else if (!write_head(log->head_fd, log->seq + 1, h))
            st = owl_fail(err, OWL_ERR_IO, "%s.head: cannot record the new line: %s", log->path, strerror(errno));
        if (st) {
            /* a line that is not durable, or half of one, would fail the request yet stay in the chain (or tear it) */
            if (w > 0 && ftruncate(log->fd, log->end) == 0) fdatasync(log->fd);
            write_head(log->head_fd, log->seq, log->prev);
        } else {
            log->end += (off_t)(n + 1);
            log->seq++;
            memcpy(log->prev, h, 65);
            if (seq_out) *seq_out = (uint64_t)log->seq;
        }
    }
    flock(log->fd, LOCK_UN);
    pthread_mutex_unlock(&log->lock);
    free(line);
    json_decref(ev);
    return st;
}

owl_status owl_audit_append(const char *path, const char *event_json, owl_error *err) {
    json_error_t je;
    json_t *ev = json_loads(event_json, 0, &je); /* checked before the file is created */
    int is_obj = json_is_object(ev);
    json_decref(ev);
    if (!is_obj) return owl_fail(err, OWL_ERR_USAGE, "audit event: expected a JSON object (%s)", je.text);
    owl_audit_log *log = NULL;
    owl_status st = owl_audit_open(path, &log, err);
    if (!st) st = owl_audit_write(log, event_json, NULL, err);
    owl_audit_close(log);
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
    long long head_seq = 0;
    char head_hash[65] = "", at_head[65] = "";
    int has_head = read_head(path, &head_seq, head_hash);
    for (;;) {
        size_t n = 0;
        int c = 0;
        while (n <= LINE_CAP && (c = getc_unlocked(f)) != EOF && c != '\n') line[n++] = (char)c;
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
        if (has_head && (long long)no == head_seq) memcpy(at_head, ph, 65);
        if (c == EOF) break;
    }
    /* the head may trail by a line a crash kept it from recording, never lead */
    if (!st && !*bad_line && has_head && head_seq > 0) {
        if ((long long)no < head_seq) {
            *bad_line = no + 1;
            if (why)
                snprintf(why, why_cap, "line %llu: missing: the log ends after line %llu, but its head (%s.head) records %lld lines",
                         (unsigned long long)(no + 1), (unsigned long long)no, path, head_seq);
        } else if (strcmp(at_head, head_hash) != 0) {
            *bad_line = (uint64_t)head_seq;
            if (why)
                snprintf(why, why_cap, "line %lld: is not the line the head (%s.head) recorded (lines were cut and others appended)",
                         head_seq, path);
        }
    }
    *n_lines = no;
    free(line);
    fclose(f);
    return st;
}
