# shiftkey-slack (connectors/slack/, issue 13): a Makefile fragment included
# by the top Makefile beside connectors.mk. Release binary in build/bin/,
# test build (sanitizers) in build/test/bin/connectors/; the unit tests of
# its pure parts in build/test/bin/slack/. Uses the connectors' option table
# (connectors/core/cfg.c) and libsk.a (codec, rules, base).

SLACK_PKGS   := libcurl jansson libmicrohttpd libsodium
SLACK_CFLAGS  = $(shell pkg-config --cflags $(SLACK_PKGS) 2>/dev/null)
SLACK_LIBS    = $(shell pkg-config --libs $(SLACK_PKGS) 2>/dev/null)
SLACK_SRC    := $(wildcard connectors/slack/*.c)
SLACK_LIB_SRC := $(filter-out connectors/slack/slack.c,$(SLACK_SRC))
SLACK_INC    := -Iconnectors/slack -Iconnectors/core -Iengine

build/slack/release/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) $(SLACK_CFLAGS) $(SLACK_INC) -MMD -MP -c $< -o $@

build/slack/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(PKG_CFLAGS) $(SLACK_CFLAGS) $(SLACK_INC) -Itests/lib -MMD -MP -c $< -o $@

SLACK_REL_OBJ  := $(patsubst %.c,build/slack/release/%.o,$(SLACK_SRC) connectors/core/cfg.c)
SLACK_TEST_OBJ := $(patsubst %.c,build/slack/test/%.o,$(SLACK_SRC) connectors/core/cfg.c)
SLACK_TEST_LIB_OBJ := $(patsubst %.c,build/slack/test/%.o,$(SLACK_LIB_SRC))

build/bin/shiftkey-slack: $(SLACK_REL_OBJ) build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(SLACK_LIBS) $(PKG_LIBS) -o $@

build/test/bin/connectors/shiftkey-slack: $(SLACK_TEST_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(SLACK_LIBS) $(PKG_LIBS) -o $@

build/test/bin/slack/test_slack_unit: build/slack/test/tests/slack/test_slack_unit.o \
		build/slack/test/tests/lib/sk_test.o $(SLACK_TEST_LIB_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(SLACK_LIBS) $(PKG_LIBS) -o $@

.PHONY: slack slack-deps
slack-deps:
	@sh scripts/install-deps.sh libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev \
		libsodium-dev python3-aiosmtpd

slack: build/bin/shiftkey-slack
connectors: build/bin/shiftkey-slack
deps: slack-deps
test-build: build/test/bin/connectors/shiftkey-slack build/test/bin/slack/test_slack_unit

# The payload parser's fuzz target (tests/slack/fuzz_slack_payload.c): the
# regression build beside the others in build/test/bin/fuzz/ (run over
# tests/fuzz/corpus/slack_payload/ by tests/fuzz/run-regression.sh), and the
# libFuzzer build for `make fuzz` (FUZZ_TARGETS=slack_payload).
build/test/bin/fuzz/fuzz_slack_payload: build/slack/test/tests/slack/fuzz_slack_payload.o \
		build/test/tests/fuzz/driver.o build/slack/test/connectors/slack/payload.o \
		build/slack/test/connectors/slack/verify.o build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(SLACK_LIBS) $(PKG_LIBS) -o $@

build/fuzz/slack/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) $(SLACK_CFLAGS) $(SLACK_INC) -MMD -MP -c $< -o $@

build/fuzz/bin/fuzz_slack_payload: build/fuzz/slack/tests/slack/fuzz_slack_payload.o \
		build/fuzz/slack/connectors/slack/payload.o build/fuzz/slack/connectors/slack/verify.o \
		build/fuzz/libsk.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(SLACK_LIBS) $(PKG_LIBS) -o $@

FUZZ_NAMES += slack_payload
test-build: build/test/bin/fuzz/fuzz_slack_payload
fuzz-build: build/fuzz/bin/fuzz_slack_payload
