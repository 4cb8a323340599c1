/* SPDX-License-Identifier: MIT */
/* A library defining a global outside the p2pc_ prefix: lib_static_prefix
 * must reject it (ctest lib_static_prefix_rejects_other). */
int unprefixed_helper(void);
int unprefixed_helper(void) { return 1; }
