/* lineedit.c: see lineedit.h. The terminal is in raw mode only while a line
 * is read, so generation output and Ctrl-C (SIGINT) behave normally between
 * lines. */
#define _POSIX_C_SOURCE 200809L
#include "cli/lineedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAX_LINE (1u << 20)
#define MAX_HISTORY 1000

typedef struct buf {
    char *s;
    size_t n, cap, cur; /* bytes, capacity, cursor byte offset */
} buf;

static int reserve(buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return 1;
    if (b->n + extra > MAX_LINE) return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->n + extra + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) return 0;
    b->s = p;
    b->cap = cap;
    return 1;
}

static void set_text(buf *b, const char *s) {
    size_t n = strlen(s);
    b->n = 0;
    if (!reserve(b, n)) return;
    memcpy(b->s, s, n);
    b->n = b->cur = n;
    b->s[n] = 0;
}

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }
static size_t prev_cp(const buf *b, size_t at) {
    if (!at) return 0;
    at--;
    while (at > 0 && is_cont((unsigned char)b->s[at])) at--;
    return at;
}
static size_t next_cp(const buf *b, size_t at) {
    if (at >= b->n) return b->n;
    at++;
    while (at < b->n && is_cont((unsigned char)b->s[at])) at++;
    return at;
}
static size_t cps(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += !is_cont((unsigned char)s[i]);
    return k;
}

static void erase(buf *b, size_t from, size_t to) {
    memmove(b->s + from, b->s + to, b->n - to);
    b->n -= to - from;
    b->s[b->n] = 0;
    if (b->cur > to) b->cur -= to - from;
    else if (b->cur > from) b->cur = from;
}

static void redraw(const char *prompt, const buf *b) {
    char tail[32];
    fputs("\r", stdout);
    fputs(prompt, stdout);
    fwrite(b->s, 1, b->n, stdout);
    fputs("\x1b[K", stdout);
    size_t back = cps(b->s + b->cur, b->n - b->cur);
    if (back) {
        snprintf(tail, sizeof tail, "\x1b[%zuD", back);
        fputs(tail, stdout);
    }
    fflush(stdout);
}

static int read_byte(unsigned char *c) {
    for (;;) {
        ssize_t r = read(STDIN_FILENO, c, 1);
        if (r == 1) return 1;
        if (r == 0) return 0;
        /* EINTR: a signal (e.g. a resize) interrupted; read again */
    }
}

void le_history_add(lineedit *le, const char *line) {
    if (!*line || (le->n_hist && !strcmp(le->hist[le->n_hist - 1], line))) return;
    if (le->n_hist == MAX_HISTORY) {
        free(le->hist[0]);
        memmove(le->hist, le->hist + 1, (le->n_hist - 1) * sizeof *le->hist);
        le->n_hist--;
    }
    if (le->n_hist == le->cap_hist) {
        size_t cap = le->cap_hist ? le->cap_hist * 2 : 32;
        char **p = realloc(le->hist, cap * sizeof *p);
        if (!p) return;
        le->hist = p;
        le->cap_hist = cap;
    }
    char *copy = strdup(line);
    if (copy) le->hist[le->n_hist++] = copy;
}

void le_free(lineedit *le) {
    for (size_t i = 0; i < le->n_hist; i++) free(le->hist[i]);
    free(le->hist);
    memset(le, 0, sizeof *le);
}

int le_read(lineedit *le, const char *prompt, char **line) {
    *line = NULL;
    struct termios saved, raw;
    if (tcgetattr(STDIN_FILENO, &saved) != 0) return LE_EOF;
    raw = saved;
    raw.c_lflag &= (tcflag_t) ~(ECHO | ICANON | ISIG | IEXTEN);
    raw.c_iflag &= (tcflag_t) ~(IXON | ICRNL | INLCR);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
    buf b = {0};
    reserve(&b, 0);
    b.s[0] = 0;
    size_t hist_at = le->n_hist;
    char *editing = NULL; /* the unsent line while browsing history */
    int result = LE_LINE;
    redraw(prompt, &b);
    for (;;) {
        unsigned char c;
        if (!read_byte(&c)) {
            result = b.n ? LE_LINE : LE_EOF;
            break;
        }
        if (c == '\r' || c == '\n') break;
        if (c == 3) { /* Ctrl-C: drop the line */
            fputs("^C", stdout);
            result = LE_INTERRUPT;
            break;
        }
        if (c == 4) { /* Ctrl-D: end of input on an empty line, else delete */
            if (!b.n) {
                result = LE_EOF;
                break;
            }
            if (b.cur < b.n) erase(&b, b.cur, next_cp(&b, b.cur));
        } else if (c == 127 || c == 8) {
            if (b.cur) erase(&b, prev_cp(&b, b.cur), b.cur);
        } else if (c == 1) {
            b.cur = 0;
        } else if (c == 5) {
            b.cur = b.n;
        } else if (c == 2) {
            b.cur = prev_cp(&b, b.cur);
        } else if (c == 6) {
            b.cur = next_cp(&b, b.cur);
        } else if (c == 11) {
            erase(&b, b.cur, b.n);
        } else if (c == 21) {
            erase(&b, 0, b.cur);
        } else if (c == 23) { /* Ctrl-W: the word before the cursor */
            size_t at = b.cur;
            while (at > 0 && b.s[at - 1] == ' ') at--;
            while (at > 0 && b.s[at - 1] != ' ') at--;
            erase(&b, at, b.cur);
        } else if (c == 12) {
            fputs("\x1b[H\x1b[2J", stdout);
        } else if (c == 16 || c == 14 || c == 27) {
            int dir = c == 16 ? -1 : c == 14 ? 1 : 0;
            if (c == 27) {
                unsigned char s1, s2;
                if (!read_byte(&s1) || !read_byte(&s2)) continue;
                if (s1 == '[' && s2 >= '0' && s2 <= '9') {
                    unsigned char s3;
                    if (!read_byte(&s3)) continue;
                    if (s3 == '~') {
                        if (s2 == '3' && b.cur < b.n) erase(&b, b.cur, next_cp(&b, b.cur));
                        if (s2 == '1' || s2 == '7') b.cur = 0;
                        if (s2 == '4' || s2 == '8') b.cur = b.n;
                    }
                } else if (s1 == '[' || s1 == 'O') {
                    if (s2 == 'A') dir = -1;
                    else if (s2 == 'B') dir = 1;
                    else if (s2 == 'C') b.cur = next_cp(&b, b.cur);
                    else if (s2 == 'D') b.cur = prev_cp(&b, b.cur);
                    else if (s2 == 'H') b.cur = 0;
                    else if (s2 == 'F') b.cur = b.n;
                }
            }
            if (dir && le->n_hist) {
                if (hist_at == le->n_hist && dir < 0) {
                    free(editing);
                    editing = strdup(b.s);
                }
                if (dir < 0 && hist_at > 0) hist_at--;
                else if (dir > 0 && hist_at < le->n_hist) hist_at++;
                set_text(&b, hist_at < le->n_hist ? le->hist[hist_at] : editing ? editing : "");
            }
        } else if (c >= 32 || c == '\t') {
            if (!reserve(&b, 1)) continue;
            memmove(b.s + b.cur + 1, b.s + b.cur, b.n - b.cur);
            b.s[b.cur++] = (char)c;
            b.s[++b.n] = 0;
            if (c >= 0x80) { /* redraw once the UTF-8 sequence is whole */
                size_t start = prev_cp(&b, b.cur);
                unsigned char lead = (unsigned char)b.s[start];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (b.cur - start < need) continue;
            }
        }
        redraw(prompt, &b);
    }
    fputs("\r\n", stdout);
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
    free(editing);
    if (result == LE_LINE) *line = b.s;
    else free(b.s);
    return result;
}
