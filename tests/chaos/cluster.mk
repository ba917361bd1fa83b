# The Redis Cluster test (tests/chaos/cluster.py): the engine on a real
# three-master cluster (+ replicas) through a slot migration and a failover.
# `make test` runs the short form (tests/run.sh, part redis-cluster);
# `make cluster-test` the long one, with more users and a killed master.

.PHONY: cluster-test
cluster-test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) test-build
	/usr/bin/python3 tests/chaos/cluster.py --users 200 --kill
