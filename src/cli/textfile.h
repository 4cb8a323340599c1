/* SPDX-License-Identifier: MIT */
/*
 * What the command's small text files share (the allowlist, the NTP key
 * file; keyfile.c's one-line keys): an error line written into a buffer,
 * the words of a line, and a file read only when it is safe.
 *
 * p2pc_cli_textfile_read opens path and checks what it opened (fstat, so
 * nothing can be swapped in between): a regular file (a symbolic link is
 * followed), owned by this user or by root, at most max bytes, and not
 * writable by group or others — nor readable by them if secret. A secret
 * file is read into sodium_malloc'd memory (guard pages, locked, wiped
 * when freed). Returns 0 with *text (NUL-terminated, *len bytes; free it
 * with p2pc_cli_textfile_free and the same secret), or -1 with one line
 * in err naming the file.
 */
#ifndef P2PC_CLI_TEXTFILE_H
#define P2PC_CLI_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

void p2pc_cli_errf(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The next word of line[*at..end) (words are separated by spaces, tabs
 * and carriage returns): its start in *w, its length returned (0: none
 * left). */
size_t p2pc_cli_word(const char *line, size_t end, size_t *at, const char **w);

int p2pc_cli_textfile_read(const char *path, size_t max, bool secret,
                           char **text, size_t *len, char *err, size_t n);
void p2pc_cli_textfile_free(char *text, bool secret);

#endif /* P2PC_CLI_TEXTFILE_H */
