/* SPDX-License-Identifier: MIT */
/*
 * The simulator's memory account: a counting allocator that the simulated
 * cores get as their p2pc_allocator and that the simulator's own tables
 * go through too, so that a run knows, byte for byte and the same on
 * every machine, how much it holds. Each block carries a small header
 * with its size (the allocator interface does not pass sizes to free);
 * the count is what was asked of malloc: the blocks and their headers,
 * not malloc's own bookkeeping. It only counts: it never refuses an
 * allocation, so the run's budget (sim.h) decides between events, where
 * a run can stop cleanly, rather than in the middle of one, where a
 * failed allocation would change what the cores do.
 */
#ifndef P2PC_SIM_SIMMEM_H
#define P2PC_SIM_SIMMEM_H

#include <stddef.h>
#include <stdint.h>

#include <p2pclock/p2pclock.h>

typedef struct p2pc_simmem {
  p2pc_allocator a; /* hand this to the cores; a.ud is this account */
  uint64_t live;    /* bytes held now, headers included */
  uint64_t peak;    /* the most ever held at once */
  uint64_t blocks;  /* blocks held now */
  uint64_t failed;  /* allocations libc refused */
} p2pc_simmem;

/* What each block is counted for besides its own bytes: its header. */
#define P2PC_SIMMEM_HDR sizeof(max_align_t)

/* An empty account whose allocator counts into it. */
void p2pc_simmem_init(p2pc_simmem *m);

/* malloc, calloc, realloc and free, counted: as libc's (realloc(p, 0)
 * frees p and returns NULL; free(NULL) is a no-op), but only for blocks
 * of this account. They return NULL when libc does, or when the size
 * overflows. */
void *p2pc_simmem_alloc(p2pc_simmem *m, size_t n);
void *p2pc_simmem_calloc(p2pc_simmem *m, size_t count, size_t size);
void *p2pc_simmem_realloc(p2pc_simmem *m, void *p, size_t n);
void p2pc_simmem_free(p2pc_simmem *m, void *p);

/* Counts n bytes the account did not allocate (the owner of the account,
 * say), or gives them back. */
void p2pc_simmem_charge(p2pc_simmem *m, uint64_t n);
void p2pc_simmem_credit(p2pc_simmem *m, uint64_t n);

#endif /* P2PC_SIM_SIMMEM_H */
