package turnserver

import (
	"strconv"
	"testing"
	"time"
)

// A flood of distinct usernames filling the cache must not drop the key a
// legitimate request has just put and pion is about to read: the old code
// cleared the whole map once it was full, and that request then got a 401.
func TestKeyCacheFullKeepsFreshEntry(t *testing.T) {
	var c keyCache
	now := time.Unix(1_000_000, 0)
	for i := range keyCacheMax - 1 {
		c.put("flood"+strconv.Itoa(i), []byte{1}, now)
	}
	c.put("alice", []byte("alice-key"), now)
	c.put("flood-next", []byte{2}, now) // the put that used to clear everything

	if k, ok := c.get("alice"); !ok || string(k) != "alice-key" {
		t.Fatalf("alice's key lost after the cache filled: %q %v", k, ok)
	}
	if _, ok := c.get("flood-next"); !ok {
		t.Fatal("newest entry missing")
	}
	if _, ok := c.get("flood0"); ok {
		t.Fatal("oldest entry kept past the bound")
	}
	if _, ok := c.get("flood1"); !ok {
		t.Fatal("more than the oldest entry evicted")
	}
	if n := c.len(); n != keyCacheMax {
		t.Fatalf("len %d, want %d", n, keyCacheMax)
	}
}

func TestKeyCacheDropsStaleAndRefreshes(t *testing.T) {
	var c keyCache
	t0 := time.Unix(1_000_000, 0)
	c.put("old", []byte{1}, t0)
	c.put("kept", []byte{2}, t0)
	c.put("kept", []byte{3}, t0.Add(keyCacheTTL)) // re-put: fresh again, new key
	c.put("new", []byte{4}, t0.Add(keyCacheTTL+time.Second))
	if _, ok := c.get("old"); ok {
		t.Fatal("stale entry kept")
	}
	if k, ok := c.get("kept"); !ok || k[0] != 3 {
		t.Fatalf("refreshed entry: %v %v", k, ok)
	}
	if n := c.len(); n != 2 {
		t.Fatalf("len %d, want 2", n)
	}
}
