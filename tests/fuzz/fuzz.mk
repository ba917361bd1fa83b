# Fuzzing of every input decoder and of the rules loader (tests/fuzz/).
#
# Two builds of each target tests/fuzz/fuzz_NAME.c:
#   build/test/bin/fuzz/fuzz_NAME  gcc, ASan/UBSan, linked with driver.c: the
#       regression run over tests/fuzz/corpus/NAME/ (part of `make test`,
#       through tests/fuzz/run-regression.sh)
#   build/fuzz/bin/fuzz_NAME       clang-14 + libFuzzer + ASan/UBSan, engine
#       compiled by clang into build/fuzz/: `make fuzz`
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=1] [FUZZ_TARGETS="rules state"]

FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CC      ?= clang-14
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# no -Werror: clang's warnings on engine code must not stop the fuzzing build
FUZZ_CFLAGS  := $(CSTD) $(filter-out -Werror,$(WARN)) -O1 -g -fno-omit-frame-pointer \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_OBJ     := $(patsubst %.c,build/fuzz/%.o,$(ENGINE_SRC) $(GEN_SRC))

# ---- regression build (make test) ----
FUZZ_REG_BINS := $(patsubst %,build/test/bin/fuzz/fuzz_%,$(FUZZ_NAMES))


build/test/bin/fuzz/fuzz_%: build/test/tests/fuzz/fuzz_%.o build/test/tests/fuzz/driver.o \
                            build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@

test-build: $(FUZZ_REG_BINS)

# ---- libFuzzer build (make fuzz) ----
FUZZ_BINS := $(patsubst %,build/fuzz/bin/fuzz_%,$(FUZZ_NAMES))

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -Iengine -MMD -MP -c $< -o $@


build/fuzz/libsk.a: $(FUZZ_OBJ)
	@rm -f $@; ar rcs $@ $^

build/fuzz/bin/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/libsk.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(PKG_LIBS) -o $@

.PHONY: fuzz fuzz-build fuzz-deps
fuzz-deps: deps
	@sh scripts/install-deps.sh clang-14 libclang-rt-14-dev

fuzz-build: $(FUZZ_BINS)

# Builds (after installing clang-14 if missing), fuzzes each target for
# FUZZ_SECONDS, merges new inputs into tests/fuzz/corpus/NAME/, keeps crash
# reproducers in tests/fuzz/crashes/; fails when any target crashed.
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) sh tests/fuzz/run-fuzz.sh $(FUZZ_TARGETS)

# ---- seeds ----
build/test/bin/fuzz/make-seeds: build/test/tests/fuzz/make-seeds.o build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PKG_LIBS) -o $@

# Rewrites the generated seeds (seed-*.bin) of the codec targets.
.PHONY: fuzz-seeds
fuzz-seeds: build/test/bin/fuzz/make-seeds
	mkdir -p $(patsubst %,tests/fuzz/corpus/%,schedule_decode command_decode dead_letter_decode)
	build/test/bin/fuzz/make-seeds tests/fuzz/corpus
