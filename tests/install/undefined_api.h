/* SPDX-License-Identifier: MIT */
/* A header declaring a function the library does not define: ctest
 * lib_exports_rejects_missing feeds it to the exports check, which must
 * then fail. Never installed, never included. */
#include <p2pclock/p2pclock.h>
P2PC_EXTERN int p2pc_no_such_function(void);
