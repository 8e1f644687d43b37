package filetransfer

import (
	"crypto/sha1" //nolint:gosec // XEP-0300 peers (StanzaJS) use sha-1; verifying it is still required.
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash"
	"sort"
	"strings"
)

// NSHashes is the XEP-0300 namespace of <hash/> and <hash-used/>.
const NSHashes = "urn:xmpp:hashes:2"

// DefaultHashAlgo is the algorithm we compute and offer by default.
const DefaultHashAlgo = "sha-256"

// hashFuncs are the XEP-0300 algorithms we can verify, by IANA text name.
// md5 is absent on purpose: XEP-0300 §6 forbids it, and a collision-prone
// hash would make the integrity check meaningless.
var hashFuncs = map[string]func() hash.Hash{
	"sha-1":    sha1.New,
	"sha-256":  sha256.New,
	"sha-384":  sha512.New384,
	"sha-512":  sha512.New,
	"sha3-256": func() hash.Hash { return sha3.New256() },
	"sha3-512": func() hash.Hash { return sha3.New512() },
}

// HashAlgos returns the algorithms we support, sorted.
func HashAlgos() []string {
	out := make([]string, 0, len(hashFuncs))
	for k := range hashFuncs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewHash returns a hash.Hash for an XEP-0300 algorithm name.
func NewHash(algo string) (hash.Hash, error) {
	f, ok := hashFuncs[strings.ToLower(algo)]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedHash, algo)
	}
	return f(), nil
}

// Hash is an XEP-0300 <hash algo='...'>base64</hash>.
type Hash struct {
	Algo  string
	Value []byte
}

type hashWire struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:2 hash"`
	Algo    string   `xml:"algo,attr"`
	Value   string   `xml:",chardata"`
}

// MarshalXML writes the digest in standard base64 without whitespace
// (XEP-0300 §3).
func (h Hash) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return enc.Encode(hashWire{Algo: h.Algo, Value: base64.StdEncoding.EncodeToString(h.Value)})
}

// UnmarshalXML reads a hash; whitespace in the base64 is tolerated.
func (h *Hash) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w struct {
		Algo  string `xml:"algo,attr"`
		Value string `xml:",chardata"`
	}
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	v := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, w.Value)
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return fmt.Errorf("%w: %s digest: %w", ErrBadDescription, w.Algo, err)
	}
	*h = Hash{Algo: strings.ToLower(strings.TrimSpace(w.Algo)), Value: b}
	return nil
}

// String renders "algo:base64" for logs and the CLI.
func (h Hash) String() string {
	return h.Algo + ":" + base64.StdEncoding.EncodeToString(h.Value)
}

// HashUsed is an XEP-0300 <hash-used algo='...'/>: the algorithm whose
// digest will come later in a checksum session-info.
type HashUsed struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:2 hash-used"`
	Algo    string   `xml:"algo,attr"`
}
