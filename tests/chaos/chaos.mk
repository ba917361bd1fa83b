# Fault tests: the engine killed with SIGKILL under a load of shift events
# and access requests, Redis restarted, the broker set down, two instances
# trading partitions. `make test` runs a short form (tests/run.sh, part
# chaos-short: every fault kind once, 40 users, 20 of them with requests,
# 20 s of spare time instead of 40 s before the timers);
# `make chaos` the long one
# (400 users, 200 with requests; --requesters N sets another number).

build/test/bin/chaos/mock_broker: tests/chaos/mock_broker.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(PKG_CFLAGS) $< $(PKG_LIBS) -o $@

test-build: build/test/bin/chaos/mock_broker

.PHONY: chaos
chaos: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) test-build
	/usr/bin/python3 tests/chaos/chaos.py --kills 20 --users 400 --redis-restarts 2 --broker-outages 2 --flushalls 2 --redis-empties 2 --two-instances
