/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock keygen`: creates a node's identity key file, or a cluster key,
 * or shows the public key of an identity key file (keyfile.h has the
 * formats and the rules; docs/SECURITY.md explains them):
 *
 *   p2pclock keygen [--key FILE | --id ID] [--force]
 *   p2pclock keygen --cluster [--out FILE [--force]]
 *   p2pclock keygen --show FILE
 *
 * Exit status: 0 ok, 1 the file exists (without --force), is unsafe,
 * malformed or cannot be written, 2 usage error.
 */
#ifndef P2PC_CLI_KEYGEN_H
#define P2PC_CLI_KEYGEN_H

/* Runs keygen on its arguments argv[0..argc) (the words after "keygen");
 * prints to stdout/stderr and returns the exit status. */
int p2pc_cli_keygen(int argc, char **argv);

#endif /* P2PC_CLI_KEYGEN_H */
