#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what bench/throughput needs beyond the build (the libzmq peer):
# scripts/deps.sh does the work, for one list of packages in one place.
set -eu
exec "$(dirname "$0")/../../scripts/deps.sh" bench
