/* lineedit.h: a small terminal line editor for `owl chat`: UTF-8 aware
 * cursor movement and deletion, Emacs keys, history, and Ctrl-C that cancels
 * the line instead of the program. Only used when stdin is a terminal. */
#ifndef OWL_CLI_LINEEDIT_H
#define OWL_CLI_LINEEDIT_H

#include <stddef.h>

typedef struct lineedit {
    char **hist;
    size_t n_hist, cap_hist;
} lineedit;

enum { LE_LINE = 0, LE_EOF = 1, LE_INTERRUPT = 2 };

/* Reads one line after printing prompt. *line (malloc'd, caller frees) holds
   the text for LE_LINE; NULL otherwise. */
int le_read(lineedit *le, const char *prompt, char **line);
void le_history_add(lineedit *le, const char *line);
void le_free(lineedit *le);

#endif
