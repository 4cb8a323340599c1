# SPDX-License-Identifier: MIT
# Front door. `make` builds into build/; `make test` and `make demo` also
# install the Debian packages they need (scripts/deps.sh; as another user
# it prints the apt-get command and stops), so each works as the first
# command on a fresh Debian. CMake does the real work.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
DEMO_FLAGS ?=
# make install: where to (PREFIX), and a staging root for packagers
# (DESTDIR): files land in $(DESTDIR)$(PREFIX)/{bin,lib,include,share}.
PREFIX ?= /usr/local
DESTDIR ?=
# cmake --build runs make below this one: no "Entering directory" lines.
MAKEFLAGS += --no-print-directory

.PHONY: all deps configure install test demo bench bench-clock bench-sim bench-mesh format format-check clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/deps.sh test

# Configures when there is no build system yet. A configure that failed
# (say, before deps were installed) leaves a CMakeCache.txt but no
# Makefile: its cache is dropped and the configure runs afresh.
configure:
	@if [ ! -f $(BUILD)/Makefile ] && [ ! -f $(BUILD)/build.ninja ]; then \
	  rm -rf $(BUILD)/CMakeCache.txt $(BUILD)/CMakeFiles; \
	  echo "cmake -S . -B $(BUILD) $(CMAKE_FLAGS)"; \
	  cmake -S . -B $(BUILD) $(CMAKE_FLAGS); \
	fi

# The command, libp2pclock (shared and static), its headers, p2pclock.pc,
# the man pages p2pclock(1) and libp2pclock(3), and p2pclock@.service.
install: all
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

test: deps
	@$(MAKE) --no-print-directory all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: all
	$(BUILD)/bench/ses_overhead

# Clock agreement of 10 nodes and accuracy beside chrony (~7 minutes);
# chrony is unpacked into build/deps, never installed as a service.
bench-clock: all
	@scripts/deps.sh bench
	bash bench/clock_accuracy/run.sh $(BUILD)

# The simulator at 1,000 and 10,000 nodes for 10 virtual minutes: wall
# time, peak memory, clock error, metadata per message, charts (~20 min).
bench-sim: all
	bash bench/sim_scale/run.sh $(BUILD)

# 60 real nodes in a full mesh, 300 msgs/s for 5 minutes: RSS over time
# and the check (~7 minutes; needs 2 GiB free in $TMPDIR).
bench-mesh:
	@$(MAKE) --no-print-directory configure
	cmake --build $(BUILD) -j $(JOBS) --target p2pclock
	bash bench/real_mesh/run.sh $(BUILD)

# A local network of nodes with traffic, a crash and a verdict; options
# through DEMO_FLAGS, e.g. make demo DEMO_FLAGS="--nodes 8 --duration 30".
demo: deps
	@$(MAKE) --no-print-directory configure
	cmake --build $(BUILD) -j $(JOBS) --target p2pclock
	$(BUILD)/p2pclock demo $(DEMO_FLAGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-san build-fuzz
