package xmpp

import (
	"context"
	"crypto/sha1" //nolint:gosec // XEP-0115 §5 mandates SHA-1 for "sha-1" hashes.
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// NSCaps is the XEP-0115 entity capabilities namespace.
const NSCaps = "http://jabber.org/protocol/caps"

// CapsVer computes the XEP-0115 §5.1 verification string of a disco#info
// answer: identities, features and extended forms sorted and joined with
// '<', SHA-1, base64.
func CapsVer(info DiscoInfo) string {
	var b strings.Builder
	ids := append([]Identity(nil), info.Identities...)
	sort.Slice(ids, func(i, j int) bool {
		a, c := ids[i], ids[j]
		if a.Category != c.Category {
			return a.Category < c.Category
		}
		if a.Type != c.Type {
			return a.Type < c.Type
		}
		if a.Lang != c.Lang {
			return a.Lang < c.Lang
		}
		return a.Name < c.Name
	})
	for _, id := range ids {
		b.WriteString(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name + "<")
	}
	fs := append([]string(nil), info.Features...)
	sort.Strings(fs)
	for _, f := range fs {
		b.WriteString(f + "<")
	}
	forms := make([]Form, 0, len(info.Forms))
	for _, f := range info.Forms {
		if f.Type != "" {
			forms = append(forms, f)
		}
	}
	sort.Slice(forms, func(i, j int) bool { return forms[i].Type < forms[j].Type })
	for _, f := range forms {
		b.WriteString(f.Type + "<")
		fields := make([]Field, 0, len(f.Fields))
		for _, fl := range f.Fields {
			if fl.Var != "FORM_TYPE" {
				fields = append(fields, fl)
			}
		}
		sort.Slice(fields, func(i, j int) bool { return fields[i].Var < fields[j].Var })
		for _, fl := range fields {
			b.WriteString(fl.Var + "<")
			vals := append([]string(nil), fl.Values...)
			sort.Strings(vals)
			for _, v := range vals {
				b.WriteString(v + "<")
			}
		}
	}
	sum := sha1.Sum([]byte(b.String())) //nolint:gosec // see import
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkCapsInput rejects what XEP-0115 §5.4 (3.3–3.5) says must not be
// hashed: duplicate identities, features or form types.
func checkCapsInput(info DiscoInfo) error {
	ids := map[Identity]bool{}
	for _, id := range info.Identities {
		if ids[id] {
			return fmt.Errorf("%w: duplicate identity %s/%s", ErrMalformedDisco, id.Category, id.Type)
		}
		ids[id] = true
	}
	fs := map[string]bool{}
	for _, f := range info.Features {
		if fs[f] {
			return fmt.Errorf("%w: duplicate feature %s", ErrMalformedDisco, f)
		}
		fs[f] = true
	}
	types := map[string]bool{}
	for _, f := range info.Forms {
		if f.Type == "" {
			continue
		}
		if types[f.Type] {
			return fmt.Errorf("%w: duplicate form type %s", ErrMalformedDisco, f.Type)
		}
		types[f.Type] = true
	}
	return nil
}

// VerifyCaps checks advertised caps against info (XEP-0115 §5.4): the
// hash must be sha-1 (the only one we compute), info well-formed, and the
// recomputed ver equal to the advertised one.
func VerifyCaps(caps Caps, info DiscoInfo) error {
	if !strings.EqualFold(caps.Hash, "sha-1") {
		return fmt.Errorf("xmpp: caps hash %q not supported", caps.Hash)
	}
	if err := checkCapsInput(info); err != nil {
		return err
	}
	if got := CapsVer(info); got != caps.Ver {
		return fmt.Errorf("%w: advertised %s, computed %s", ErrCapsMismatch, caps.Ver, got)
	}
	return nil
}

// VerifyPeerCaps fetches disco#info for node#ver from a full JID whose
// presence carried caps and verifies the ver (XEP-0115 §5.4). It returns
// the verified disco#info.
func (c *Client) VerifyPeerCaps(ctx context.Context, full string) (DiscoInfo, error) {
	p, ok := c.PresenceOf(full)
	if !ok || p.Caps == nil {
		return DiscoInfo{}, fmt.Errorf("%w: %s", ErrNoCaps, full)
	}
	info, err := c.DiscoInfoNode(ctx, full, p.Caps.Node+"#"+p.Caps.Ver)
	if err != nil {
		return DiscoInfo{}, err
	}
	if err := VerifyCaps(*p.Caps, info); err != nil {
		return DiscoInfo{}, fmt.Errorf("xmpp: caps of %s: %w", full, err)
	}
	return info, nil
}
