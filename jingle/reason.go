package jingle

import (
	"encoding/xml"
	"fmt"
)

// ReasonCondition is the name of the condition element inside <reason/>
// (XEP-0166 §7.4).
type ReasonCondition string

// The reason conditions of XEP-0166 §7.4.
const (
	ReasonAlternativeSession      ReasonCondition = "alternative-session"
	ReasonBusy                    ReasonCondition = "busy"
	ReasonCancel                  ReasonCondition = "cancel"
	ReasonConnectivityError       ReasonCondition = "connectivity-error"
	ReasonDecline                 ReasonCondition = "decline"
	ReasonExpired                 ReasonCondition = "expired"
	ReasonFailedApplication       ReasonCondition = "failed-application"
	ReasonFailedTransport         ReasonCondition = "failed-transport"
	ReasonGeneralError            ReasonCondition = "general-error"
	ReasonGone                    ReasonCondition = "gone"
	ReasonIncompatibleParameters  ReasonCondition = "incompatible-parameters"
	ReasonMediaError              ReasonCondition = "media-error"
	ReasonSecurityError           ReasonCondition = "security-error"
	ReasonSuccess                 ReasonCondition = "success"
	ReasonTimeout                 ReasonCondition = "timeout"
	ReasonUnsupportedApplications ReasonCondition = "unsupported-applications"
	ReasonUnsupportedTransports   ReasonCondition = "unsupported-transports"
)

var reasonConditions = map[ReasonCondition]bool{
	ReasonAlternativeSession: true, ReasonBusy: true, ReasonCancel: true,
	ReasonConnectivityError: true, ReasonDecline: true, ReasonExpired: true,
	ReasonFailedApplication: true, ReasonFailedTransport: true, ReasonGeneralError: true,
	ReasonGone: true, ReasonIncompatibleParameters: true, ReasonMediaError: true,
	ReasonSecurityError: true, ReasonSuccess: true, ReasonTimeout: true,
	ReasonUnsupportedApplications: true, ReasonUnsupportedTransports: true,
}

// Valid reports whether c is a condition defined by XEP-0166.
func (c ReasonCondition) Valid() bool { return reasonConditions[c] }

// Reason is the <reason/> element of session-terminate and friends.
type Reason struct {
	Condition ReasonCondition
	// AlternativeSID is the sid inside <alternative-session/>.
	AlternativeSID string
	// Text is the optional human-readable <text/>.
	Text string
	// Extra keeps application-specific children (e.g. an RTP or file
	// transfer error element) in document order.
	Extra []Element
}

// NewReason returns a reason with condition c and optional text.
func NewReason(c ReasonCondition, text string) *Reason {
	return &Reason{Condition: c, Text: text}
}

// String renders the reason for logs and CLI messages.
func (r *Reason) String() string {
	if r == nil {
		return "<none>"
	}
	s := string(r.Condition)
	if r.AlternativeSID != "" {
		s += " (alternative sid " + r.AlternativeSID + ")"
	}
	if r.Text != "" {
		s += ": " + r.Text
	}
	return s
}

// MarshalXML writes <reason><condition/>[<text/>][extra]</reason>. Inside
// <jingle/> the reason inherits the Jingle namespace; a field tagged with
// the namespace (XEP-0353 puts <reason xmlns='urn:xmpp:jingle:1'/> into
// JMI messages) gets it declared.
func (r Reason) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start = xml.StartElement{Name: xml.Name{Space: start.Name.Space, Local: "reason"}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := xml.StartElement{Name: xml.Name{Local: string(r.Condition)}}
	if err := enc.EncodeToken(cond); err != nil {
		return err
	}
	if r.Condition == ReasonAlternativeSession && r.AlternativeSID != "" {
		if err := enc.EncodeElement(r.AlternativeSID, xml.StartElement{Name: xml.Name{Local: "sid"}}); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(cond.End()); err != nil {
		return err
	}
	if r.Text != "" {
		if err := enc.EncodeElement(r.Text, xml.StartElement{Name: xml.Name{Local: "text"}}); err != nil {
			return err
		}
	}
	for _, e := range r.Extra {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads a reason. The first child in the Jingle namespace
// that is not <text/> is the condition; children of other namespaces are
// kept in Extra.
func (r *Reason) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Children []Element `xml:",any"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*r = Reason{}
	for _, c := range raw.Children {
		switch {
		case c.XMLName.Space == start.Name.Space && c.XMLName.Local == "text":
			var t struct {
				Text string `xml:",chardata"`
			}
			if err := c.Decode(&t); err != nil {
				return err
			}
			r.Text = t.Text
		case c.XMLName.Space == start.Name.Space && r.Condition == "":
			r.Condition = ReasonCondition(c.XMLName.Local)
			if r.Condition == ReasonAlternativeSession {
				var alt struct {
					SID string `xml:"sid"`
				}
				if err := c.Decode(&alt); err != nil {
					return err
				}
				r.AlternativeSID = alt.SID
			}
		default:
			r.Extra = append(r.Extra, c)
		}
	}
	if r.Condition == "" {
		return fmt.Errorf("jingle: reason without condition")
	}
	return nil
}
