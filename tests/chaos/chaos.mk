# Fault tests: the engine killed with SIGKILL under load, Redis restarted,
# the broker set down, two instances trading partitions. `make test` runs a
# short form (tests/chaos/test_chaos_short.sh); `make chaos` the long one.

build/test/bin/chaos/mock_broker: tests/chaos/mock_broker.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(PKG_CFLAGS) $< $(PKG_LIBS) -o $@

test-build: build/test/bin/chaos/mock_broker

.PHONY: chaos
chaos: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) test-build
	/usr/bin/python3 tests/chaos/chaos.py --kills 20 --users 400 --redis-restarts 2 --broker-outages 2 --two-instances
