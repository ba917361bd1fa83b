# shiftkey — build, test, run. `make help` lists the targets.
#
# Two builds from the same sources:
#   build/release  -O2, what `make run` and `make bench` use
#   build/test     -O1 -g with AddressSanitizer + UBSan, what `make test` uses

CC      ?= cc
PKGS    := rdkafka avro-c hiredis libcyaml libxxhash libsodium libmicrohttpd jansson libcurl zlib
WARN    := -Wall -Wextra -Wstrict-prototypes -Wshadow -Wno-missing-field-initializers -Werror
CSTD    := -std=c11 -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lyaml -lpthread -lm

REL_CFLAGS  := $(CSTD) $(WARN) -O2 -g
TEST_CFLAGS := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
TEST_LDFLAGS := -fsanitize=address,undefined

# The engine's layers, lowest first (engine/README.md): libsk.a holds them
# all; the daemon is engine/shiftkeyd.c over libsk.a, and the CLI links its
# own object list (engine/cli/) over libsk.a, so neither links the other.
LAYERS     := base codec rules decide pipeline
ENGINE_SRC := $(foreach l,$(LAYERS),$(wildcard engine/$(l)/*.c))
CLI_SRC    := $(wildcard engine/cli/*.c)
SCHEMAS    := $(wildcard schemas/*.avsc schemas/versions/*/*.avsc)
GEN_SRC    := build/gen/schemas_embedded.c
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
INTEG_SRC  := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)

REL_OBJ  := $(patsubst %.c,build/release/%.o,$(ENGINE_SRC) $(GEN_SRC))
REL_CLI_OBJ  := $(patsubst %.c,build/release/%.o,$(CLI_SRC))
TEST_CLI_OBJ := $(patsubst %.c,build/test/%.o,$(CLI_SRC))
TEST_OBJ := $(patsubst %.c,build/test/%.o,$(ENGINE_SRC) $(GEN_SRC))
TESTLIB_OBJ := $(patsubst %.c,build/test/%.o,$(TESTLIB_SRC))

BINS      := build/bin/shiftkeyd build/bin/shiftkey
TEST_BINS := $(patsubst tests/%.c,build/test/bin/%,$(UNIT_SRC) $(INTEG_SRC)) \
             build/test/bin/shiftkeyd build/test/bin/shiftkey

.PHONY: all deps build test test-build run bench clean help format format-check check-layers \
        schemas-check
# keep objects between runs (not .SECONDARY for all targets: with it a new
# engine/*.c was left out of a libsk.a newer than the file)
.PRECIOUS: build/%.o
.DEFAULT_GOAL := all

all: deps build

help:
	@echo "make run      install deps, build, run the demo (embedded Kafka + private Redis)"
	@echo "make test     install deps, build with sanitizers, run the whole suite"
	@echo "make build    build the release binaries into build/bin/"
	@echo "make deps     apt-get install what is missing (needs root or sudo)"
	@echo "make format   clang-format every C file (.clang-format)"
	@echo "make format-check  fail on any file clang-format would change (part of make test)"
	@echo "make check-layers  fail on an include that points up, a circle, an unprefixed symbol"
	@echo "make schemas-check fail on a schema change that breaks backward or forward compatibility"
	@echo "make clean    remove build/"

deps:
	@sh scripts/install-deps.sh

build: $(BINS)

build/gen/schemas_embedded.c: $(SCHEMAS) scripts/embed-schemas.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-schemas.sh $(SCHEMAS) > $@.tmp && mv $@.tmp $@

build/release/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) -Iengine -MMD -MP -c $< -o $@

build/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(PKG_CFLAGS) -Iengine -Itests/lib -MMD -MP -c $< -o $@

build/release/libsk.a: $(REL_OBJ)
	@rm -f $@; ar rcs $@ $^

build/test/libsk.a: $(TEST_OBJ)
	@rm -f $@; ar rcs $@ $^

build/bin/shiftkeyd: build/release/engine/shiftkeyd.o build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

build/bin/shiftkey: $(REL_CLI_OBJ) build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

build/test/bin/shiftkeyd: build/test/engine/shiftkeyd.o build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@

build/test/bin/shiftkey: $(TEST_CLI_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@

build/test/bin/unit/%: build/test/tests/unit/%.o $(TESTLIB_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@
build/test/bin/integration/%: build/test/tests/integration/%.o $(TESTLIB_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@

# an sk_arena_sprintf failpoint for the allocation-failure test of the deciders
build/test/bin/unit/test_decide_request: TEST_LDFLAGS += -Wl,--wrap=sk_arena_sprintf

test-build: $(TEST_BINS) $(BINS)

# The whole suite: unit, integration (mock Kafka over TCP + real redis-server),
# black-box (kcat, confluent_kafka, python3-avro, redis-cli).
# tests/run.sh prints each part's wall time, the slowest ten and the build's.
test: deps
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) test-build || exit 1; \
	SK_BUILD_SECONDS=$$(($$(date +%s) - t0)) sh tests/run.sh

run: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) build connectors
	@sh scripts/demo.sh

FORMAT_SRC = $(wildcard engine/*.c engine/*/*.[ch] connectors/*/*.[ch] tests/*/*.c tests/lib/*.[ch] bench/*.[ch])

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format says"

# Refuses a schema change that breaks backward or forward compatibility
# (schemas/README.md, "Evolution rules"); part of make test.
schemas-check:
	@/usr/bin/python3 scripts/schemas-check.py --self-test

# The layers of engine/README.md, checked on the sources and the test objects.
check-layers: $(TEST_OBJ) $(TEST_CLI_OBJ) build/test/engine/shiftkeyd.o
	@python3 scripts/check-layers.py build/test

clean:
	rm -rf build

# Further targets (make fuzz, make bench, ...) live beside their sources,
# each in a fragment; a fragment adds what `make test` needs as extra
# prerequisites of test-build (e.g. `test-build: build/test/bin/fuzz/x`).
-include $(wildcard tests/fuzz/*.mk tests/chaos/*.mk bench/*.mk connectors/*.mk)

-include $(shell find build -name '*.d' 2>/dev/null)
