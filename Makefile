# owl: build, test, bench, fuzz, install.
#   make              libowl (static + shared) and the owl command in build/
#   make test         unit + reference tests, the same under ASan+UBSan, short fuzz runs
#   make bench        benchmarks
#   make fuzz         longer libFuzzer runs of every parser (FUZZ_SECONDS each)
#   make install      PREFIX=/usr/local DESTDIR=
CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
SANITIZE ?=
OPT ?= -O2

PKGS = jansson openssl oniguruma libutf8proc libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -lssl -lcrypto -lmicrohttpd)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -fPIC -Iinclude -Isrc $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) -lm -lpthread

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

# data kept in the repository and embedded into the library (tools/embed.c)
GEN_SRC := $(BUILD)/gen/licenses_data.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/licenses_data.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test check test-fast test-asan arm-check fuzz fuzz-short bench install clean

all: $(BUILD)/libowl.a $(BUILD)/libowl.so $(BUILD)/owl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/licenses_data.c: data/licenses.json $(BUILD)/tools/embed
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $< owl_licenses_json $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libowl.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libowl.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/owl: $(CLI_OBJ) $(BUILD)/libowl.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libowl.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libowl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libowl.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libowl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libowl.a $(LDLIBS)

# Runs every test binary and the CLI tests; prints one "tests: N passed, N failed" line.
check: all $(TESTS)
	@OWL_BUILD=$(BUILD) bash scripts/run-tests.sh $(TESTS)

# The whole suite: normal build, sanitizer build, short fuzz runs.
test:
	$(MAKE) check
	$(MAKE) CC=clang BUILD=build/clang all
	$(MAKE) BUILD=build/asan SANITIZE=1 OPT=-O1 check
	$(MAKE) arm-check
	$(MAKE) fuzz-short
	@bash scripts/summary.sh build/check.log build/asan/check.log build/arm-check.log build/fuzz/fuzz.log

# The portable path builds on ARM: kernels, engine, samplers and tokenizers cross-compiled
# for aarch64 (compile only; the SIMD files reduce to their portable parts).
ARM_CC ?= aarch64-linux-gnu-gcc
ARM_SRC := $(sort $(wildcard src/kernels/*.c src/model/*.c src/sample/*.c src/tokenizer/*.c))
arm-check:
	@mkdir -p build
	@if ! command -v $(ARM_CC) >/dev/null; then \
	  echo "arm-check: 0 passed, 1 failed ($(ARM_CC) missing: run scripts/setup.sh)" | tee build/arm-check.log; exit 1; fi
	@n=0; for f in $(ARM_SRC); do $(ARM_CC) -std=c11 $(WARN) -O2 -Iinclude -Isrc -c $$f -o /dev/null || \
	  { echo "arm-check: 0 passed, 1 failed ($$f)" | tee build/arm-check.log; exit 1; }; n=$$((n + 1)); done; \
	  echo "arm-check: 1 passed, 0 failed ($$n files for aarch64)" | tee build/arm-check.log

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_BUILD = build/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS = -std=c11 -g -O1 $(FUZZ_SAN) -Iinclude -Isrc $(PKG_CFLAGS)
FUZZERS := $(FUZZ_SRC:fuzz/%.c=$(FUZZ_BUILD)/%)
# the library is instrumented once (fuzzer-no-link) and linked into every harness
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/gen/licenses_data.o

$(FUZZ_BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -o $@ $<

$(FUZZ_BUILD)/gen/licenses_data.c: data/licenses.json $(FUZZ_BUILD)/tools/embed
	@mkdir -p $(dir $@)
	$(FUZZ_BUILD)/tools/embed $< owl_licenses_json $@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/obj/gen/%.o: $(FUZZ_BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libowl_fuzz.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/%: fuzz/%.c $(wildcard fuzz/*.h) $(FUZZ_BUILD)/libowl_fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libowl_fuzz.a $(LDLIBS)

fuzz-short: $(FUZZERS)
	@FUZZ_SECONDS=10 bash scripts/run-fuzz.sh $(FUZZERS)

fuzz: $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/run-fuzz.sh $(FUZZERS)

bench: all $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done
	@OWL_BIN=$(BUILD)/owl bash scripts/bench-models.sh
	@OWL_BIN=$(BUILD)/owl node bench/serve_bench.mjs

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/owl $(DESTDIR)$(PREFIX)/bin/owl
	install -m 644 $(BUILD)/libowl.a $(DESTDIR)$(PREFIX)/lib/libowl.a
	install -m 755 $(BUILD)/libowl.so $(DESTDIR)$(PREFIX)/lib/libowl.so
	install -m 644 include/owl.h $(DESTDIR)$(PREFIX)/include/owl.h

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
