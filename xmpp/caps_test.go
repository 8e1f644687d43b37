package xmpp

import (
	"errors"
	"os"
	"testing"
)

func TestCapsVerGoldens(t *testing.T) {
	for _, tc := range []struct {
		file, ver string
	}{
		{"testdata/caps-exodus.xml", "QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"testdata/caps-psi.xml", "q07IKJEyjvHSyhy//CH0CxmKi8w="},
		// A real client: Dino's answer for its own node#ver.
		{"testdata/caps-dino.xml", "6ggwrxA97IN314qDlU0ic5OWBEc="},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseDiscoInfo(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := CapsVer(info); got != tc.ver {
				t.Fatalf("ver = %s, want %s", got, tc.ver)
			}
			if err := VerifyCaps(Caps{Hash: "sha-1", Ver: tc.ver}, info); err != nil {
				t.Fatal(err)
			}
			// One feature less must not verify.
			info.Features = info.Features[1:]
			if err := VerifyCaps(Caps{Hash: "sha-1", Ver: tc.ver}, info); !errors.Is(err, ErrCapsMismatch) {
				t.Fatalf("modified info: err = %v, want ErrCapsMismatch", err)
			}
		})
	}
}

func TestVerifyCapsRejectsMalformed(t *testing.T) {
	base := DiscoInfo{
		Identities: []Identity{{Category: "client", Type: "pc", Name: "x"}},
		Features:   []string{NSDiscoInfo, NSCaps},
	}
	dupFeature := base
	dupFeature.Features = []string{NSDiscoInfo, NSCaps, NSCaps}
	dupIdentity := base
	dupIdentity.Identities = append(append([]Identity(nil), base.Identities...), base.Identities[0])
	dupForm := base
	dupForm.Forms = []Form{{Type: "urn:a"}, {Type: "urn:a"}}
	for name, info := range map[string]DiscoInfo{"feature": dupFeature, "identity": dupIdentity, "form": dupForm} {
		if err := VerifyCaps(Caps{Hash: "sha-1", Ver: CapsVer(info)}, info); !errors.Is(err, ErrMalformedDisco) {
			t.Errorf("duplicate %s: err = %v, want ErrMalformedDisco", name, err)
		}
	}
	if err := VerifyCaps(Caps{Hash: "md5", Ver: CapsVer(base)}, base); err == nil {
		t.Error("md5 hash accepted")
	}
}

func TestMarshalDiscoInfoRoundTrip(t *testing.T) {
	in := DiscoInfo{
		Node:       "n#v",
		Identities: []Identity{{Category: "client", Type: "bot", Name: "jingled", Lang: "en"}},
		Features:   []string{NSCaps, NSDiscoInfo, "urn:xmpp:jingle:1"},
		Forms:      []Form{{Type: "urn:xmpp:dataforms:softwareinfo", Fields: []Field{{Var: "os", Values: []string{"Linux"}}}}},
	}
	b, err := marshalDiscoInfo(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseDiscoInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if CapsVer(out) != CapsVer(in) || out.Node != in.Node || out.Identities[0] != in.Identities[0] {
		t.Fatalf("round trip changed info:\n in %+v\nout %+v\n%s", in, out, b)
	}
}

func TestReplyFromOK(t *testing.T) {
	own := "alice@example.org/phone"
	for _, tc := range []struct {
		to, from string
		ok       bool
	}{
		{"bob@example.org/pc", "bob@example.org/pc", true},
		{"bob@example.org/pc", "BOB@Example.org/pc", true},
		{"bob@example.org/pc", "bob@example.org/PC", false},
		{"bob@example.org/pc", "mallory@example.org/pc", false},
		{"bob@example.org/pc", "", false},
		{"", "", true},
		{"", "alice@example.org", true},
		{"", own, true},
		{"", "example.org", true},
		{"", "other.org", false},
		{"alice@example.org", "example.org", false},
		{"alice@example.org", "", true},
		{"example.org", "example.org", true},
		{"example.org", "", false},
	} {
		if got := replyFromOK(tc.to, tc.from, own); got != tc.ok {
			t.Errorf("replyFromOK(to=%q, from=%q) = %v, want %v", tc.to, tc.from, got, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []int{10, 20, 40, 80, 100, 100}
	for i, w := range want {
		if got := backoff(10, 100, i+1); int(got) != w {
			t.Errorf("backoff attempt %d = %d, want %d", i+1, got, w)
		}
	}
}

func TestPlainRefusedOffLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:5222", "localhost:5222", "example.org:5222"} {
		_, err := New(Config{JID: "a@example.org", Password: "x", Addr: addr, AllowPlainLoopback: true})
		if !errors.Is(err, ErrPlainNotLoopback) {
			t.Errorf("%s: err = %v, want ErrPlainNotLoopback", addr, err)
		}
	}
	if _, err := New(Config{JID: "a@example.org", Password: "x", Addr: "127.0.0.1:5222", AllowPlainLoopback: true}); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
}
