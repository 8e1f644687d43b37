# StanzaJS interop peer (tests/interop): a third-party Jingle client on
# libwebrtc that the Go interop tests drive. Its npm packages are pinned in
# tests/interop/package-lock.json (stanza 12.22.1, @roamhq/wrtc 0.10.0
# with its prebuilt linux-x64 libwebrtc, ~31 MB, ~3 s to install).
INTEROP_DIR := tests/interop

.PHONY: interop-deps interop-selftest interop-test

# npm ci recreates node_modules from the lockfile; the hidden lockfile it
# writes marks a finished install, so this runs again only when the pins change.
interop-deps: $(INTEROP_DIR)/node_modules/.package-lock.json

$(INTEROP_DIR)/node_modules/.package-lock.json: $(INTEROP_DIR)/package.json $(INTEROP_DIR)/package-lock.json
	cd $(INTEROP_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# StanzaJS calls StanzaJS and sends it a file through a throwaway Prosody,
# all inside a network namespace that has only lo.
interop-selftest: interop-deps
	cd $(INTEROP_DIR) && ./netns-run.sh node selftest.mjs

# The Go <-> StanzaJS tests alone (they also run in `make test`).
interop-test: interop-deps
	./scripts/in-netns.sh $(GO) test -race -count=1 -timeout 10m ./$(INTEROP_DIR)/...
