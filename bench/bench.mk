# `make bench`: throughput, latency and timer precision of the engine against
# the raw Kafka and Redis limits, in one run (bench/README.md). BENCH_QUICK=1
# for the quick form; `make test` runs the quick form (bench/run-quick.sh)
# only to prove the benchmark works.

BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_OBJ := $(patsubst %.c,build/release/%.o,$(BENCH_SRC)) build/release/bench/sk_fixture.o \
             build/release/bench/sk_sign_fx.o

build/release/bench/sk_%.o: tests/lib/sk_%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) -Iengine -Itests/lib -MMD -MP -c $< -o $@

build/release/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) -Iengine -Itests/lib -Ibench -MMD -MP -c $< -o $@

build/bench/bench: $(BENCH_OBJ) build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

test-build: build/bench/bench

.PHONY: bench bench-plot-deps
bench-plot-deps:
	@sh scripts/install-deps.sh gnuplot-nox

bench: deps bench-plot-deps
	@$(MAKE) --no-print-directory build build/bench/bench
	@BENCH_QUICK=$(BENCH_QUICK) build/bench/bench
	@sh bench/plot.sh build/bench

# `shiftkey replay` speed (bench/replay.sh): a synthetic recording decided
# with the example rules and an edited copy side by side.
build/bench/gen-recording: build/release/bench/gen_recording.o build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

test-build: build/bench/gen-recording

.PHONY: bench-replay
bench-replay: build/bin/shiftkey build/bench/gen-recording
	@sh bench/replay.sh
bench: bench-replay

# The golden check of the deciders and the encoder (bench/golden.c): a
# recording decided in memory, every output hashed (bench/README.md).
GOLDEN_CLI_OBJ := $(filter-out build/release/engine/cli/shiftkey.o,$(REL_CLI_OBJ))
build/bench/golden: build/release/bench/golden.o $(GOLDEN_CLI_OBJ) build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

test-build: build/bench/golden

# The decision function and the encoding under callgrind (bench/prof_decide.c).
build/bench/prof-decide: build/release/bench/prof_decide.o build/release/bench/bench_rules.o \
                         build/release/bench/bench_util.o build/release/bench/sk_fixture.o \
                         build/release/bench/sk_sign_fx.o build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PKG_LIBS) -o $@

test-build: build/bench/prof-decide
