# director - one non-recursive Makefile.
#
#   make            release build of directord and directorctl (build/rel)
#   make check      install what is missing, sanitizer build, all tests
#   make demo       install what is missing, build, run the demo cluster
#   make bench      build and run the benchmarks (release build)
#   make fuzz       libFuzzer targets with clang (build/fuzz)
#   make fuzz-run   build and run each target FUZZ_SECONDS (or FUZZ_RUNS)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        Debian package of the release build (build/deb)
#   make fmt-check  clang-format check of every C file
#   make sim        release build of the simulator, run SECONDS=60 long
#                   (SIM_ARGS="--partitions" or "--count": passed on)
#   make soak       sanitizer build, the ring's long runs (SOAK_SECONDS=600)

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
DESTDIR ?=

BUILD ?= build/rel
SAN   ?= 0
CC    ?= cc

PKGS := libevent_core libevent_openssl openssl libbsd
SRCDIRS := $(sort $(dir $(wildcard src/*/*.c src/*/*.h)))
INCS := $(patsubst %/,-I%,$(SRCDIRS))

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wformat=2 \
	-Wimplicit-fallthrough
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
else
OPT := -O2 -g
endif
DEPFLAGS = -MMD -MP
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(INCS) $(PKG_CFLAGS) \
	$(CFLAGS)
ALL_LDFLAGS = $(OPT) $(LDFLAGS)

# Every .c under src/ except the programs in src/bin is library code.
LIB_SRCS := $(filter-out src/bin/%,$(wildcard src/*/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libdirector.a
BIN_SRCS := $(wildcard src/bin/*.c)
BINS := $(patsubst src/bin/%.c,$(BUILD)/%,$(BIN_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# The simulator drives the pure engine: no libevent, no OpenSSL.
SIM_SRCS := $(wildcard tests/sim/*.c)
# (its objects live apart: $(BUILD)/tests/sim is the program)
SIM_OBJS := $(patsubst tests/sim/%.c,$(BUILD)/sim/%.o,$(SIM_SRCS))
SIM_BIN := $(BUILD)/tests/sim
SECONDS ?= 60
SOAK_SECONDS ?= 600
SIM_ARGS ?=
# Pure modules: no libevent, no OpenSSL, no sockets (DESIGN.md section 4).
PURE_DIRS := src/lib src/conf src/routing src/proto src/engine

.PHONY: all bins tests benches check demo bench fuzz fuzz-run install clean \
	deps fmt fmt-check purity layout sim sim-bin deb soak

all: bins

bins: $(BINS)
tests: $(UNIT_BINS) $(BINS) $(SIM_BIN)
sim-bin: $(SIM_BIN)
benches: $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%: $(BUILD)/src/bin/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

# Unit tests of pure modules link without libevent and OpenSSL: if one
# pulls in an I/O symbol through the library, the link fails.
UNIT_IO_SRCS := $(shell grep -l -E \
    '\#include *[<"](event2/|openssl/|bevio.h|tls.h)' tests/unit/*.c)
UNIT_IO_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_IO_SRCS))
PURE_LIBS := $(shell pkg-config --libs libbsd 2>/dev/null)

$(UNIT_IO_BINS): $(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lcmocka -lm

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PURE_LIBS) -lcmocka -lm

$(BUILD)/sim/%.o: tests/sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(SIM_BIN): $(SIM_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(SIM_OBJS) $(LIB) -lbsd -lm

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

.SECONDARY:

deps:
	@./scripts/install-deps.sh

check: deps purity layout fmt-check
	$(MAKE) BUILD=build/check SAN=1 tests
	/usr/bin/python3 tests/run_tests.py --build build/check

# The long runs of the ring tests (pytest marker "soak"): chaos for
# SOAK_SECONDS, a director hung for a minute, logins waiting the whole
# request timeout.  Prints their counts and figures.
soak: deps
	$(MAKE) BUILD=build/check SAN=1 tests
	DIRECTOR_BUILD=$(CURDIR)/build/check SOAK_SECONDS=$(SOAK_SECONDS) \
	    /usr/bin/python3 -m pytest -q -rxXfs -p no:cacheprovider \
	    -m soak tests/integration

demo: deps
	$(MAKE) BUILD=build/rel bins
	/usr/bin/python3 scripts/demo.py --build build/rel

bench: deps
	$(MAKE) BUILD=build/rel benches bins
	./bench/run.sh build/rel

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang \
	    OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	    $(patsubst tests/fuzz/%.c,build/fuzz/fuzz/%,$(FUZZ_SRCS))

build/fuzz/fuzz/%: build/fuzz/tests/fuzz/%.o build/fuzz/libdirector.a
	@mkdir -p $(dir $@)
	clang -fsanitize=fuzzer,address,undefined -o $@ $< \
	    build/fuzz/libdirector.a $(PKG_LIBS) -lm

# One line a target: executions, crashes, exec/s, wall seconds; fails if
# one crashed.
# FUZZ_RUNS=N stops a target after N executions if that comes first
# (FUZZ_SECONDS=0: no time limit); FUZZ_JOBS targets at a time;
# FUZZ_TARGETS="fuzz_admin ..." runs only those.
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
FUZZ_RUNS ?= 0
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=

fuzz-run: fuzz
	tests/fuzz/run.sh build/fuzz/fuzz $(FUZZ_SECONDS) $(FUZZ_RUNS) \
	    $(FUZZ_JOBS) $(FUZZ_TARGETS)

# Folder layout (scripts/layout-check.py): no folder cycles, pure folders
# include no I/O header and no impure folder, no file over ~900 lines.
layout:
	@/usr/bin/python3 scripts/layout-check.py

sim:
	$(MAKE) BUILD=build/rel sim-bin
	build/rel/tests/sim --seconds $(SECONDS) $(SIM_ARGS)

purity:
	@bad=$$(grep -l -E '#include *<(event2|openssl)/|<sys/socket.h>' \
	    $(foreach d,$(PURE_DIRS),$(wildcard $(d)/*.c $(d)/*.h)) \
	    /dev/null); \
	if [ -n "$$bad" ]; then \
		echo "pure modules include I/O headers: $$bad"; exit 1; fi

install: bins
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/director
	install -m 755 $(BUILD)/directord $(DESTDIR)$(SBINDIR)/directord
	if [ -f $(BUILD)/directorctl ]; then \
	    install -m 755 $(BUILD)/directorctl $(DESTDIR)$(BINDIR)/; fi
	for m in man/*.5; do [ -f "$$m" ] && \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/ || true; done
	for m in man/*.8; do [ -f "$$m" ] && \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man8/ || true; done
	install -m 644 etc/directord.conf \
	    $(DESTDIR)$(SYSCONFDIR)/director/directord.conf.example

# The package: programs, manual pages, /etc/director/directord.conf (a
# conffile), the systemd unit and the maintainer scripts of pkg/debian/.
deb:
	$(MAKE) BUILD=build/rel bins
	./scripts/mkdeb.sh build/rel build/deb

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

fmt-check:
	@n=$$(clang-format --dry-run $$(git ls-files '*.c' '*.h') 2>&1 | \
	    grep -c 'warning:'); \
	if [ "$$n" -ne 0 ]; then echo "clang-format: $$n differences"; \
	    exit 1; fi

clean:
	rm -rf build

-include $(shell find build -name '*.d' -type f 2>/dev/null)
