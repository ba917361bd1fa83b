# Connectors (PagerDuty, Opsgenie, Jira Service Management Operations, iCalendar): a Makefile fragment included
# by the top Makefile. `make connectors` builds the release binaries into
# build/bin/; the test build (sanitizers) goes into build/test/bin/connectors/
# and is a prerequisite of test-build. Engine code (codec, event, sk, arena,
# duration, embedded schemas) comes from libsk.a of the same build.
#   make -f Makefile -f connectors/connectors.mk connectors

CONN_PKGS    := libcurl jansson libical
CONN_CFLAGS   = $(shell pkg-config --cflags $(CONN_PKGS) 2>/dev/null)
CONN_LIBS     = $(shell pkg-config --libs $(CONN_PKGS) 2>/dev/null)
CONN_CORE_SRC := $(wildcard connectors/core/*.c)
CONN_NAMES    := pagerduty opsgenie ical jsm
CONN_INC      := -Iconnectors/core -Iconnectors/opsgenie -Iengine
# objects a program needs besides its own file and the core: Opsgenie's
# timeline reader is shared with Jira Service Management Operations
CONN_EXTRA_opsgenie := connectors/opsgenie/og_timeline
CONN_EXTRA_jsm      := connectors/opsgenie/og_timeline

CONN_BINS      := $(patsubst %,build/bin/shiftkey-%,$(CONN_NAMES))
CONN_TEST_BINS := $(patsubst %,build/test/bin/connectors/shiftkey-%,$(CONN_NAMES)) \
                  build/test/bin/connectors/test_conn_core

build/connectors/release/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) $(CONN_CFLAGS) $(CONN_INC) -MMD -MP -c $< -o $@

build/connectors/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(PKG_CFLAGS) $(CONN_CFLAGS) $(CONN_INC) -Itests/lib -MMD -MP -c $< -o $@

CONN_CORE_REL  := $(patsubst %.c,build/connectors/release/%.o,$(CONN_CORE_SRC))
CONN_CORE_TEST := $(patsubst %.c,build/connectors/test/%.o,$(CONN_CORE_SRC))

# one program per source: connectors/NAME/NAME.c + the core + libsk.a
define CONN_PROGRAM
build/bin/shiftkey-$(1): build/connectors/release/connectors/$(1)/$(1).o \
		$$(patsubst %,build/connectors/release/%.o,$$(CONN_EXTRA_$(1))) $$(CONN_CORE_REL) build/release/libsk.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$^ $$(CONN_LIBS) $$(PKG_LIBS) -o $$@

build/test/bin/connectors/shiftkey-$(1): build/connectors/test/connectors/$(1)/$(1).o \
		$$(patsubst %,build/connectors/test/%.o,$$(CONN_EXTRA_$(1))) $$(CONN_CORE_TEST) build/test/libsk.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TEST_LDFLAGS) $$^ $$(CONN_LIBS) $$(PKG_LIBS) -o $$@
endef
$(foreach n,$(CONN_NAMES),$(eval $(call CONN_PROGRAM,$(n))))

build/test/bin/connectors/test_conn_core: build/connectors/test/tests/connectors/test_conn_core.o \
		build/connectors/test/tests/lib/sk_test.o build/connectors/test/connectors/opsgenie/og_timeline.o \
		$(CONN_CORE_TEST) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(CONN_LIBS) $(PKG_LIBS) -o $@

.PHONY: connectors connectors-deps
connectors-deps:
	@sh scripts/install-deps.sh libcurl4-openssl-dev libjansson-dev libical-dev tzdata

connectors: $(CONN_BINS)

deps: connectors-deps
test-build: $(CONN_TEST_BINS)
