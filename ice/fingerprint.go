package ice

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Setup is the DTLS role of XEP-0320 (the setup attribute), with the values
// of RFC 4145 / RFC 5763 a=setup.
type Setup string

// DTLS setup roles.
const (
	SetupActPass Setup = "actpass"
	SetupActive  Setup = "active"
	SetupPassive Setup = "passive"
)

// Valid reports whether s is one of the three roles usable in Jingle.
func (s Setup) Valid() bool {
	switch s {
	case SetupActPass, SetupActive, SetupPassive:
		return true
	}
	return false
}

// ForAnswer returns the role to put in an answer. RFC 5763 §5 forbids
// actpass in an answer, and libwebrtc never starts DTLS when it gets one
// (seen in the wild, see INTEROP.md), so actpass becomes active: the
// answerer takes the DTLS client role, as libwebrtc and pion do. Other
// values are kept.
func (s Setup) ForAnswer() Setup {
	if s == SetupActPass || s == "" {
		return SetupActive
	}
	return s
}

// Answering returns the role an answerer takes against an offer's role:
// active against actpass or passive, passive against active.
func (s Setup) Answering() Setup {
	if s == SetupActive {
		return SetupPassive
	}
	return SetupActive
}

// Fingerprint is XEP-0320's <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0'/>
// carried in an ICE-UDP transport: the hash of the sender's DTLS
// certificate and its DTLS role. Conversations refuses calls without one.
type Fingerprint struct {
	// Hash is the hash function's name as in RFC 8122 (e.g. "sha-256").
	Hash  string
	Setup Setup
	// Value is the colon-separated upper-case hex digest.
	Value string
}

type fingerprintWire struct {
	XMLName xml.Name `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
	Hash    string   `xml:"hash,attr"`
	Setup   Setup    `xml:"setup,attr,omitempty"`
	Value   string   `xml:",chardata"`
}

// MarshalXML writes the fingerprint; hash and value are required.
func (f Fingerprint) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return enc.Encode(fingerprintWire{Hash: f.Hash, Setup: f.Setup, Value: f.Value})
}

// UnmarshalXML reads a fingerprint, trimming the whitespace that
// pretty-printed stanzas (XEP-0343's example) put around the digest.
func (f *Fingerprint) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w fingerprintWire
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	*f = Fingerprint{
		Hash:  strings.ToLower(strings.TrimSpace(w.Hash)),
		Setup: Setup(strings.ToLower(strings.TrimSpace(string(w.Setup)))),
		Value: strings.TrimSpace(w.Value),
	}
	return nil
}

// Validate checks that the fingerprint can be written to XML and SDP.
func (f *Fingerprint) Validate() error {
	if f.Hash == "" || strings.ContainsAny(f.Hash, " \t\r\n") {
		return fmt.Errorf("%w: bad hash %q", ErrInvalidFingerprint, f.Hash)
	}
	if f.Value == "" || strings.ContainsAny(f.Value, " \t\r\n") {
		return fmt.Errorf("%w: bad value %q", ErrInvalidFingerprint, f.Value)
	}
	if f.Setup != "" && !f.Setup.Valid() {
		return fmt.Errorf("%w: setup %q", ErrInvalidFingerprint, f.Setup)
	}
	return nil
}

// SDP returns the value of the a=fingerprint attribute (RFC 8122 §5).
func (f *Fingerprint) SDP() string { return f.Hash + " " + f.Value }

// ParseSDPFingerprint parses the value of an a=fingerprint attribute.
// setup is taken from the m-line's a=setup.
func ParseSDPFingerprint(v string, setup Setup) (Fingerprint, error) {
	h, val, ok := strings.Cut(strings.TrimSpace(v), " ")
	f := Fingerprint{Hash: strings.ToLower(h), Value: strings.TrimSpace(val), Setup: setup}
	if !ok {
		return Fingerprint{}, fmt.Errorf("%w: %q", ErrInvalidFingerprint, v)
	}
	if err := f.Validate(); err != nil {
		return Fingerprint{}, err
	}
	return f, nil
}
