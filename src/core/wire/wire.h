/* SPDX-License-Identifier: MIT */
/*
 * The wire, both codecs: frame.h (the frame header and the link frames)
 * and sescodec.h (the SES message inside a DATA frame). Include the one
 * you need; this umbrella is for code that speaks both.
 */
#ifndef P2PC_WIRE_H
#define P2PC_WIRE_H

#include "frame.h"
#include "sescodec.h"

#endif /* P2PC_WIRE_H */
