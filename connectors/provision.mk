# Provisioners (issue 14): a Makefile fragment included by the top Makefile.
# `make provision` (and `make connectors`) builds build/bin/shiftkey-provision;
# the test build (sanitizers) goes into build/test/bin/provision/ and is a
# prerequisite of test-build. Engine code (codec, base) comes from libsk.a,
# the option table from connectors/core/cfg.c.

PROV_PKGS    := libpq ldap libcrypto libcurl jansson
PROV_CFLAGS   = $(shell pkg-config --cflags $(PROV_PKGS) 2>/dev/null)
PROV_LIBS     = $(shell pkg-config --libs $(PROV_PKGS) 2>/dev/null)
PROV_SRC     := $(wildcard connectors/provision/*.c)
PROV_LIB_SRC := $(filter-out connectors/provision/main.c,$(PROV_SRC)) connectors/core/cfg.c
PROV_INC     := -Iconnectors/provision -Iconnectors/core -Iengine

build/provision/release/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) $(PROV_CFLAGS) $(PROV_INC) -MMD -MP -c $< -o $@

build/provision/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(PKG_CFLAGS) $(PROV_CFLAGS) $(PROV_INC) -Itests/lib -MMD -MP -c $< -o $@

PROV_REL_OBJ  := $(patsubst %.c,build/provision/release/%.o,$(PROV_LIB_SRC))
PROV_TEST_OBJ := $(patsubst %.c,build/provision/test/%.o,$(PROV_LIB_SRC))

build/bin/shiftkey-provision: build/provision/release/connectors/provision/main.o $(PROV_REL_OBJ) build/release/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $^ $(PROV_LIBS) $(PKG_LIBS) -o $@

build/test/bin/provision/shiftkey-provision: build/provision/test/connectors/provision/main.o $(PROV_TEST_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PROV_LIBS) $(PKG_LIBS) -o $@

build/test/bin/provision/test_prov_unit: build/provision/test/tests/provision/test_prov_unit.o \
		build/provision/test/tests/lib/sk_test.o $(PROV_TEST_OBJ) build/test/libsk.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) $^ $(PROV_LIBS) $(PKG_LIBS) -o $@

.PHONY: provision provision-deps
# the servers the tests start (postgresql, slapd) and the clients that check them
provision-deps:
	@sh scripts/install-deps.sh libpq-dev libldap2-dev libssl-dev libcurl4-openssl-dev \
		libjansson-dev postgresql slapd ldap-utils

provision: build/bin/shiftkey-provision
connectors: build/bin/shiftkey-provision

deps: provision-deps
test-build: build/test/bin/provision/shiftkey-provision build/test/bin/provision/test_prov_unit
