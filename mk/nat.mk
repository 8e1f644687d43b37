# NAT proof (issue 7): namespace topologies with real NATs (root), and the
# same scenarios in-process on pion's vnet (no root).
.PHONY: test-nat test-vnet

# Calls and 20 MiB files across symmetric, cone and UDP-blocked NATs, with
# Prosody, jingled and the jingle CLI in network namespaces.
test-nat: deps
	./scripts/in-netns.sh $(GO) test -race -count=1 -timeout 15m -v ./internal/netnstest/... ./tests/nat/...

# The vnet scenarios: fast, no root.
test-vnet:
	$(GO) test -race -count=1 -v ./tests/vnet/...
