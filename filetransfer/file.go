package filetransfer

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jingled/jingled/jingle"
)

// Description namespaces of XEP-0234.
const (
	// NS is XEP-0234 v0.19's namespace, the one we write.
	NS = "urn:xmpp:jingle:apps:file-transfer:5"
	// NS4 is the previous namespace; its <file/> is the same, StanzaJS
	// still advertises it.
	NS4 = "urn:xmpp:jingle:apps:file-transfer:4"
	// NS3 wraps the file in <offer/> or <request/> and uses
	// urn:xmpp:hashes:1; we read it.
	NS3 = "urn:xmpp:jingle:apps:file-transfer:3"
)

// knownNS reports whether space is a file-transfer namespace we read.
func knownNS(space string) bool {
	return space == NS || space == NS4 || space == NS3
}

// File is XEP-0234's <file/> (§5): the metadata of the file offered or
// requested. Every field is optional on the wire; Size is -1 when absent
// (a zero-byte file is a real file).
type File struct {
	Date      time.Time
	Desc      string
	MediaType string
	Name      string
	Size      int64
	// Range restricts the transfer (resume); nil means the whole file.
	Range *Range
	// Hashes are the digests of the whole file (XEP-0300).
	Hashes []Hash
	// HashUsed names algorithms whose digests come later in a checksum.
	HashUsed []string
}

// Range is <range offset=” length=”/> (XEP-0234 §8): the first byte
// transferred is at Offset; Length 0 means "to the end".
type Range struct {
	Offset int64
	Length int64
	// Hashes of the range's data, only in a checksum (§9.2).
	Hashes []Hash
}

// Hash returns the digest for algo, or nil.
func (f *File) Hash(algo string) []byte {
	for _, h := range f.Hashes {
		if h.Algo == algo {
			return h.Value
		}
	}
	return nil
}

type fileOut struct {
	XMLName   xml.Name   `xml:"file"`
	Date      string     `xml:"date,omitempty"`
	Desc      string     `xml:"desc,omitempty"`
	MediaType string     `xml:"media-type,omitempty"`
	Name      string     `xml:"name,omitempty"`
	Range     *rangeOut  `xml:"range"`
	Size      string     `xml:"size,omitempty"`
	Hashes    []Hash     `xml:"hash"`
	HashUsed  []HashUsed `xml:"hash-used"`
}

type rangeOut struct {
	Offset string `xml:"offset,attr,omitempty"`
	Length string `xml:"length,attr,omitempty"`
	Hashes []Hash `xml:"hash"`
}

// fileIn reads <file/> in any of the three namespaces: child names are
// matched without namespace so urn:xmpp:hashes:1 (ft:3) reads too.
type fileIn struct {
	Date      string      `xml:"date"`
	Desc      string      `xml:"desc"`
	MediaType string      `xml:"media-type"`
	Name      string      `xml:"name"`
	Range     *rangeIn    `xml:"range"`
	Size      string      `xml:"size"`
	Hashes    []Hash      `xml:"hash"`
	HashUsed  []hashUsedI `xml:"hash-used"`
}

type rangeIn struct {
	Offset string `xml:"offset,attr"`
	Length string `xml:"length,attr"`
	Hashes []Hash `xml:"hash"`
}

type hashUsedI struct {
	Algo string `xml:"algo,attr"`
}

// MarshalXML writes <file/> with children in the order of XEP-0234's
// examples.
func (f File) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	w := fileOut{Desc: f.Desc, MediaType: f.MediaType, Name: f.Name, Hashes: f.Hashes}
	if !f.Date.IsZero() {
		w.Date = f.Date.UTC().Format(time.RFC3339Nano)
	}
	if f.Size >= 0 {
		w.Size = strconv.FormatInt(f.Size, 10)
	}
	if f.Range != nil {
		w.Range = &rangeOut{Hashes: f.Range.Hashes}
		if f.Range.Offset > 0 {
			w.Range.Offset = strconv.FormatInt(f.Range.Offset, 10)
		}
		if f.Range.Length > 0 {
			w.Range.Length = strconv.FormatInt(f.Range.Length, 10)
		}
	}
	for _, a := range f.HashUsed {
		w.HashUsed = append(w.HashUsed, HashUsed{Algo: a})
	}
	return enc.Encode(w)
}

// UnmarshalXML reads <file/>, checking numbers and dates.
func (f *File) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w fileIn
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	out := File{Desc: w.Desc, MediaType: strings.TrimSpace(w.MediaType), Name: w.Name, Hashes: w.Hashes, Size: -1}
	if s := strings.TrimSpace(w.Date); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%w: date %q", ErrBadDescription, s)
		}
		out.Date = t
	}
	if s := strings.TrimSpace(w.Size); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: size %q", ErrBadDescription, s)
		}
		out.Size = n
	}
	if w.Range != nil {
		r := &Range{Hashes: w.Range.Hashes}
		var err error
		if r.Offset, err = parseNonNeg("range offset", w.Range.Offset); err != nil {
			return err
		}
		if r.Length, err = parseNonNeg("range length", w.Range.Length); err != nil {
			return err
		}
		out.Range = r
	}
	for _, h := range w.HashUsed {
		if a := strings.ToLower(strings.TrimSpace(h.Algo)); a != "" {
			out.HashUsed = append(out.HashUsed, a)
		}
	}
	*f = out
	return nil
}

func parseNonNeg(what, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s %q", ErrBadDescription, what, s)
	}
	return n, nil
}

// Description is XEP-0234's <description/>: one file. Namespace is the
// namespace it was read in (NS when written by us).
type Description struct {
	Namespace string
	File      File
	// Request is set for an XEP-0234:3 <request/>; in :4 and :5 the
	// direction comes from the content's senders attribute.
	Request bool
}

type descIn struct {
	File  *File `xml:"file"`
	Offer *struct {
		File *File `xml:"file"`
	} `xml:"offer"`
	Request *struct {
		File *File `xml:"file"`
	} `xml:"request"`
}

// DecodeDescription reads a content's <description/> in any of the three
// namespaces.
func DecodeDescription(e *jingle.Element) (*Description, error) {
	if e == nil || !knownNS(e.XMLName.Space) || e.XMLName.Local != "description" {
		return nil, fmt.Errorf("%w: not a file-transfer description", ErrBadDescription)
	}
	var w descIn
	if err := e.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDescription, err)
	}
	d := &Description{Namespace: e.XMLName.Space}
	switch {
	case w.File != nil:
		d.File = *w.File
	case w.Offer != nil && w.Offer.File != nil:
		d.File = *w.Offer.File
	case w.Request != nil && w.Request.File != nil:
		d.File = *w.Request.File
		d.Request = true
	default:
		return nil, fmt.Errorf("%w: description without <file/>", ErrBadDescription)
	}
	return d, nil
}

// Element encodes the description in its namespace (NS if unset). Only
// :4 and :5 are written; a :3 description is written as :5.
func (d *Description) Element() (jingle.Element, error) {
	space := d.Namespace
	if space != NS4 {
		space = NS
	}
	e, err := jingle.NewElement(struct {
		XMLName xml.Name
		File    File `xml:"file"`
	}{XMLName: xml.Name{Space: space, Local: "description"}, File: d.File})
	if err != nil {
		return jingle.Element{}, fmt.Errorf("filetransfer: encoding description: %w", err)
	}
	return e, nil
}

// Checksum is the session-info payload <checksum/> (XEP-0234 §9.2): the
// digest of the file (or of a range), sent by the file sender during or
// after the transfer.
type Checksum struct {
	Creator jingle.Creator
	Name    string
	File    File
}

type checksumWire struct {
	XMLName xml.Name
	Creator jingle.Creator `xml:"creator,attr,omitempty"`
	Name    string         `xml:"name,attr,omitempty"`
	File    File           `xml:"file"`
}

// Element encodes the checksum for Session.Info.
func (c *Checksum) Element() (jingle.Element, error) {
	w := checksumWire{XMLName: xml.Name{Space: NS, Local: "checksum"}, Creator: c.Creator, Name: c.Name, File: c.File}
	w.File.Size = -1
	return jingle.NewElement(w)
}

// DecodeChecksum reads a <checksum/> session-info payload.
func DecodeChecksum(e *jingle.Element) (*Checksum, error) {
	if e == nil || !knownNS(e.XMLName.Space) || e.XMLName.Local != "checksum" {
		return nil, fmt.Errorf("%w: not a checksum", ErrBadDescription)
	}
	var w checksumWire
	if err := e.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: checksum: %w", ErrBadDescription, err)
	}
	return &Checksum{Creator: w.Creator, Name: w.Name, File: w.File}, nil
}

// Received is the session-info payload <received/> (XEP-0234 §9.1): the
// receiver has the complete file.
type Received struct {
	Creator jingle.Creator
	Name    string
}

type receivedWire struct {
	XMLName xml.Name
	Creator jingle.Creator `xml:"creator,attr,omitempty"`
	Name    string         `xml:"name,attr,omitempty"`
}

// Element encodes the received ack for Session.Info.
func (r *Received) Element() (jingle.Element, error) {
	return jingle.NewElement(receivedWire{XMLName: xml.Name{Space: NS, Local: "received"}, Creator: r.Creator, Name: r.Name})
}

// DecodeReceived reads a <received/> session-info payload.
func DecodeReceived(e *jingle.Element) (*Received, error) {
	if e == nil || !knownNS(e.XMLName.Space) || e.XMLName.Local != "received" {
		return nil, fmt.Errorf("%w: not a received ack", ErrBadDescription)
	}
	var w receivedWire
	if err := e.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: received: %w", ErrBadDescription, err)
	}
	return &Received{Creator: w.Creator, Name: w.Name}, nil
}
