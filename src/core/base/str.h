/* SPDX-License-Identifier: MIT */
/*
 * Building log lines without printf (the core has no stdio): text and
 * decimal integers appended to a NUL-terminated string of capacity cap,
 * cut at the capacity.
 */
#ifndef P2PC_STR_H
#define P2PC_STR_H

#include <stddef.h>
#include <stdint.h>

void p2pc_str_cat(char *s, size_t cap, const char *t);
void p2pc_str_u64(char *s, size_t cap, uint64_t v);
void p2pc_str_i64(char *s, size_t cap, int64_t v);

#endif /* P2PC_STR_H */
