# pstack: a userspace TCP/IP stack delivered as an LD_PRELOAD library.
#
#   make            build/libpstack.so, the pstack launcher and the examples
#   make test       every test: the layering check, unit (cmocka), then end-to-end (bats,
#                   the load tests included at their everyday sizes, about 4 minutes of them);
#                   runs `make deps` when needed
#   make check-layers  includes point downward, the protocol core makes no system call,
#                   nothing in stack/ or shim/ calls an interposed symbol (tests/check-layers.sh)
#   make demo       the main job on defaults, in a network namespace of its own
#   make asan       unit and end-to-end suites under ASan+UBSan (the load tests included)
#   make tsan       unit and end-to-end suites under TSan (the load tests included)
#                   (both with DEBUG=1: the locking rule checked, stack/CONCURRENCY.md)
#   make fuzz       the libFuzzer targets for a bounded time (FUZZ_SECONDS, default 60 each)
#   make soak       the load tests' long variants (tests/e2e/7*-load-*.bats, PSTACK_LOAD_TESTS=soak)
#   make bench      pstack against the kernel, side by side (tests/bench/RESULTS.md)
#   make deps       install what the project needs from Debian's archive (idempotent)
#
# Layers: preload/ -> shim/ -> stack/. Sources are found by wildcard, so adding a
# file to a layer needs no edit here. BUILD= selects the output folder.

BUILD    ?= build
CC       ?= cc
SAN      ?=
DEBUG    ?=
PREFIX   ?= /usr/local

WARN     := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wundef
CFLAGS   ?= -O2 -g
BASEFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden -I. -pthread
LDLIBS   := -ldl -lpthread

ifeq ($(SAN),asan)
  BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  SANLD := -fsanitize=address,undefined
endif
ifeq ($(SAN),tsan)
  BASEFLAGS += -fsanitize=thread -fno-omit-frame-pointer
  SANLD := -fsanitize=thread
endif
# Debug builds check the locking rule (stack/core/lockcheck.h): DEBUG=1 for
# everything; the unit tests always link objects built so ($(BUILD)/dobj).
ifeq ($(DEBUG),1)
  BASEFLAGS += -DPSTACK_DEBUG
endif

STACK_SRC   := $(sort $(wildcard stack/*/*.c stack/*/*/*.c))
SHIM_SRC    := $(sort $(wildcard shim/*.c))
# preload/stat.c is the pstack-stat program (pstack stat), not part of the library.
PRELOAD_SRC := $(filter-out preload/stat.c,$(sort $(wildcard preload/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/*/test_*.c))
UNIT_SUPPORT_SRC := $(sort $(wildcard tests/unit/support/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
dobj = $(patsubst %.c,$(BUILD)/dobj/%.o,$(1))
STACK_OBJ   := $(call obj,$(STACK_SRC))
SHIM_OBJ    := $(call obj,$(SHIM_SRC))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
UNIT_LIB_OBJ := $(call dobj,$(UNIT_SUPPORT_SRC) $(STACK_SRC) $(SHIM_SRC))
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
EXAMPLE_BIN := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))
WIRE_SRC    := $(sort $(wildcard stack/wire/*.c))
# Programs the tests and the benchmark run beside the library, plain (no
# sanitizer, whatever the build of libpstack.so): they run on the kernel's
# stack, or under the preload as ordinary programs.
TOOL_BIN    := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(sort $(wildcard tests/tools/*.c)))
BENCH_BIN   := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(sort $(wildcard tests/bench/*.c)))
DIFF_BIN    := $(BUILD)/diff/sockdiff $(BUILD)/diff/fuzzseq
PLAIN_BIN   := $(TOOL_BIN) $(BENCH_BIN) $(DIFF_BIN)

.SECONDARY:
.PHONY: all lib test unit e2e soak asan tsan fuzz deps demo bench clean install check-deps check-layers
all: lib $(BUILD)/pstack $(BUILD)/pstack-stat $(EXAMPLE_BIN) $(PLAIN_BIN)
lib: $(BUILD)/libpstack.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/dobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -DPSTACK_DEBUG $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpstack.so: $(STACK_OBJ) $(SHIM_OBJ) $(PRELOAD_OBJ) preload/pstack.map
	$(CC) -shared $(SANLD) -Wl,--version-script=preload/pstack.map -Wl,-z,defs -o $@ \
	  $(STACK_OBJ) $(SHIM_OBJ) $(PRELOAD_OBJ) $(LDLIBS)

$(BUILD)/pstack: preload/pstack.sh
	@mkdir -p $(dir $@)
	sed 's|@LIBDIR@|$(abspath $(BUILD))|' $< > $@ && chmod +x $@

# `pstack stat`'s client (the launcher runs it from the library's folder).
$(BUILD)/pstack-stat: preload/stat.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -o $@ $<

# Unit tests link the stack and the shim statically (debug objects), with the cmocka support code.
$(BUILD)/tests/%: $(BUILD)/dobj/tests/unit/%.o $(UNIT_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SANLD) -pthread -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANLD) -o $@ $< -pthread

check-layers: lib
	sh tests/check-layers.sh $(BUILD)

# The plain programs (PLAIN_BIN): the load and attack tools (tests/tools, the
# frame builders of stack/wire linked in), the benchmark's helpers
# (tests/bench) and the differential harness (tests/diff/run.sh).
PLAIN_CC = $(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. -o $@ $(filter %.c,$^) -pthread
$(BUILD)/tools/%: tests/tools/%.c $(WIRE_SRC) $(wildcard stack/wire/*.h)
	@mkdir -p $(dir $@)
	$(PLAIN_CC)
$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(PLAIN_CC)
$(BUILD)/diff/%: tests/diff/%.c tests/diff/diffio.h
	@mkdir -p $(dir $@)
	$(PLAIN_CC)

unit: $(UNIT_BIN)
	@set -e; fail=0; for t in $(UNIT_BIN); do \
	  echo "== $$t"; $$t || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "unit tests: FAILED"; exit 1; fi

e2e: all
	PSTACK_BUILD=$(abspath $(BUILD)) bats --print-output-on-failure --timing tests/e2e

# The load, flood and failure tests (tests/e2e/7*-load-*.bats) run in
# `make e2e` at their everyday sizes with short failure durations; `make soak`
# runs their long variants (wrk for 60 s, 300k connections in a row, 1M redis
# requests, a zero window for 180 s, the TAP down for 60 s; tests/e2e/load-lib.bash).
# PSTACK_LOAD_TESTS=0 leaves them out of a run.
LOAD_BATS := $(sort $(wildcard tests/e2e/7*-load-*.bats))
soak: check-deps all
	PSTACK_LOAD_TESTS=soak PSTACK_BUILD=$(abspath $(BUILD)) bats --print-output-on-failure --timing $(LOAD_BATS)

test: check-deps
	$(MAKE) all
	$(MAKE) check-layers
	$(MAKE) unit
	$(MAKE) e2e

# asan and tsan run the whole end-to-end suite, the load tests included at
# their everyday counts; when libpstack.so carries a sanitizer runtime
# (tests/e2e/lib.bash finds it), the junk frames of the transfer test come at
# 50k/s onto 16 MiB, and RSS bounds are not checked (tests/e2e/load-lib.bash).
asan: check-deps
	$(MAKE) BUILD=build/asan SAN=asan DEBUG=1 CFLAGS="-O1 -g" all unit e2e

tsan: check-deps
	$(MAKE) BUILD=build/tsan SAN=tsan DEBUG=1 CFLAGS="-O1 -g" all unit e2e

# The bar for a parser change is ten minutes without a finding: FUZZ_SECONDS=600.
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
$(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(STACK_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ $< $(STACK_SRC) -pthread
# The control messages' target runs the shim on the unit tests' fake host
# (its lock checks are the debug build's).
$(FUZZ_DIR)/fuzz_cmsg: tests/fuzz/fuzz_cmsg.c tests/fuzz/fuzz_common.h $(STACK_SRC) $(SHIM_SRC) $(UNIT_SUPPORT_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DPSTACK_DEBUG -g -O1 -I. -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ $< $(STACK_SRC) $(SHIM_SRC) $(UNIT_SUPPORT_SRC) -lcmocka -pthread $(LDLIBS)
fuzz: check-deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p $(FUZZ_DIR)/corpus-$$n $(FUZZ_DIR)/artifacts; \
	  seeds=tests/fuzz/corpus; [ ! -d tests/fuzz/corpus-$$n ] || seeds=tests/fuzz/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=9000 -artifact_prefix=$(FUZZ_DIR)/artifacts/ \
	    $(FUZZ_DIR)/corpus-$$n $$seeds; done

deps:
	sh tests/deps.sh install

check-deps:
	@sh tests/deps.sh check || sh tests/deps.sh install

demo: check-deps
	$(MAKE) all
	sh examples/demo.sh $(abspath $(BUILD))

bench: check-deps all
	sh tests/bench/run.sh $(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libpstack.so $(DESTDIR)$(PREFIX)/lib/libpstack.so
	install -m 0755 $(BUILD)/pstack-stat $(DESTDIR)$(PREFIX)/lib/pstack-stat
	sed 's|@LIBDIR@|$(PREFIX)/lib|' preload/pstack.sh > $(DESTDIR)$(PREFIX)/bin/pstack
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/pstack

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj $(BUILD)/dobj -name '*.d' 2>/dev/null)
