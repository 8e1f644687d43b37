package jingle

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// NSStanzas is the namespace of stanza error conditions (RFC 6120 §8.3).
const NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// ErrorType is the type attribute of a stanza <error/> (RFC 6120 §8.3.2).
type ErrorType string

// Stanza error types.
const (
	ErrorTypeAuth     ErrorType = "auth"
	ErrorTypeCancel   ErrorType = "cancel"
	ErrorTypeContinue ErrorType = "continue"
	ErrorTypeModify   ErrorType = "modify"
	ErrorTypeWait     ErrorType = "wait"
)

// Stanza error conditions used by Jingle (RFC 6120 §8.3.3).
const (
	CondBadRequest            = "bad-request"
	CondConflict              = "conflict"
	CondFeatureNotImplemented = "feature-not-implemented"
	CondForbidden             = "forbidden"
	CondInternalServerError   = "internal-server-error"
	CondItemNotFound          = "item-not-found"
	CondNotAcceptable         = "not-acceptable"
	CondNotAllowed            = "not-allowed"
	CondRemoteServerTimeout   = "remote-server-timeout"
	CondResourceConstraint    = "resource-constraint"
	CondServiceUnavailable    = "service-unavailable"
	CondUnexpectedRequest     = "unexpected-request"
	CondRecipientUnavailable  = "recipient-unavailable"
	CondRemoteServerNotFound  = "remote-server-not-found"
)

// JingleCondition is an application-specific condition of XEP-0166 §10.
type JingleCondition string

// The Jingle error conditions.
const (
	JingleOutOfOrder      JingleCondition = "out-of-order"
	JingleTieBreak        JingleCondition = "tie-break"
	JingleUnknownSession  JingleCondition = "unknown-session"
	JingleUnsupportedInfo JingleCondition = "unsupported-info"
)

// Error is a stanza error, optionally carrying a Jingle condition. It is the
// one error type that crosses the wire: the manager turns it into the
// <error/> child of an IQ reply, and SendIQ returns it for error replies.
type Error struct {
	Type      ErrorType
	Condition string
	Jingle    JingleCondition
	Text      string
	// By is the entity that generated the error, if given.
	By string
	// URI is the character data of the condition element, which the gone
	// and redirect conditions use for the new address (RFC 6120 §8.3.3.5,
	// §8.3.3.14; XEP-0166 §6.3.2 redirects a session-initiate with it).
	URI string
}

// Error implements error.
func (e *Error) Error() string {
	s := "xmpp error " + e.Condition
	if e.Jingle != "" {
		s += "/" + string(e.Jingle)
	}
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Is matches on condition and Jingle condition, so
// errors.Is(err, ErrUnknownSession) works for any text.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Condition == e.Condition && (t.Jingle == "" || t.Jingle == e.Jingle)
}

// Sentinels to branch on with errors.Is.
var (
	// ErrUnknownSession: the sid is unknown, or known but not for the
	// sender (XEP-0166 §10: item-not-found + unknown-session).
	ErrUnknownSession = &Error{Type: ErrorTypeCancel, Condition: CondItemNotFound, Jingle: JingleUnknownSession}
	// ErrOutOfOrder: the action is not valid in the session's state.
	ErrOutOfOrder = &Error{Type: ErrorTypeWait, Condition: CondUnexpectedRequest, Jingle: JingleOutOfOrder}
	// ErrTieBreak: both parties initiated, or both changed the same thing.
	ErrTieBreak = &Error{Type: ErrorTypeCancel, Condition: CondConflict, Jingle: JingleTieBreak}
	// ErrUnsupportedInfo: a session-info payload we do not understand.
	ErrUnsupportedInfo = &Error{Type: ErrorTypeModify, Condition: CondFeatureNotImplemented, Jingle: JingleUnsupportedInfo}
	// ErrBadRequest: malformed Jingle.
	ErrBadRequest = &Error{Type: ErrorTypeModify, Condition: CondBadRequest}
	// ErrResourceConstraint: too many sessions (flood protection).
	ErrResourceConstraint = &Error{Type: ErrorTypeWait, Condition: CondResourceConstraint}
	// ErrServiceUnavailable: the entity does not do this at all.
	ErrServiceUnavailable = &Error{Type: ErrorTypeCancel, Condition: CondServiceUnavailable}
	// ErrForbidden: policy refused the peer.
	ErrForbidden = &Error{Type: ErrorTypeAuth, Condition: CondForbidden}
)

// BadRequest returns a bad-request error with text.
func BadRequest(text string) *Error {
	return &Error{Type: ErrorTypeModify, Condition: CondBadRequest, Text: text}
}

// withText copies a sentinel and sets its text.
func withText(e *Error, format string, args ...any) *Error {
	c := *e
	c.Text = fmt.Sprintf(format, args...)
	return &c
}

// ToError turns any error into a stanza error for an IQ reply. Errors that
// are not *Error become internal-server-error, without leaking their text.
func ToError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Type: ErrorTypeCancel, Condition: CondInternalServerError}
}

// MarshalXML writes <error type=...><condition xmlns=stanzas/>[<text/>][<jingle-cond xmlns=errors/>]</error>.
func (e Error) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	typ := e.Type
	if typ == "" {
		typ = ErrorTypeCancel
	}
	start := xml.StartElement{Name: xml.Name{Local: "error"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: string(typ)}}}
	if e.By != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "by"}, Value: e.By})
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := e.Condition
	if cond == "" {
		cond = CondUndefined
	}
	if e.URI != "" {
		c := xml.StartElement{Name: xml.Name{Space: NSStanzas, Local: cond}}
		if err := enc.EncodeElement(e.URI, c); err != nil {
			return err
		}
	} else if err := encodeEmpty(enc, NSStanzas, cond); err != nil {
		return err
	}
	if e.Text != "" {
		t := xml.StartElement{Name: xml.Name{Space: NSStanzas, Local: "text"}}
		if err := enc.EncodeElement(e.Text, t); err != nil {
			return err
		}
	}
	if e.Jingle != "" {
		if err := encodeEmpty(enc, NSErrors, string(e.Jingle)); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// CondUndefined is RFC 6120's catch-all condition.
const CondUndefined = "undefined-condition"

func encodeEmpty(enc *xml.Encoder, space, local string) error {
	s := xml.StartElement{Name: xml.Name{Space: space, Local: local}}
	if err := enc.EncodeToken(s); err != nil {
		return err
	}
	return enc.EncodeToken(s.End())
}

// UnmarshalXML reads a stanza <error/>.
func (e *Error) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Type     string    `xml:"type,attr"`
		By       string    `xml:"by,attr"`
		Children []Element `xml:",any"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*e = Error{Type: ErrorType(raw.Type), By: raw.By}
	for _, c := range raw.Children {
		switch c.XMLName.Space {
		case NSStanzas:
			if c.XMLName.Local == "text" {
				var t struct {
					Text string `xml:",chardata"`
				}
				if err := c.Decode(&t); err == nil {
					e.Text = t.Text
				}
			} else if e.Condition == "" {
				e.Condition = c.XMLName.Local
				if len(c.Inner) > 0 {
					var u struct {
						URI string `xml:",chardata"`
					}
					if err := c.Decode(&u); err == nil {
						e.URI = strings.TrimSpace(u.URI)
					}
				}
			}
		case NSErrors:
			e.Jingle = JingleCondition(c.XMLName.Local)
		}
	}
	if e.Condition == "" {
		e.Condition = CondUndefined
	}
	return nil
}

// Errors of the session manager and of JMI (XEP-0353) that callers branch
// on with errors.Is.
var (
	// ErrSessionEnded: the session has ended; nothing more can be done
	// on it.
	ErrSessionEnded = errors.New("jingle: session ended")
	// ErrManagerClosed: Close was called.
	ErrManagerClosed = errors.New("jingle: manager closed")
	// ErrProposalRejected: the peer answered our proposal with <reject/>
	// (Proposal.Reason says why).
	ErrProposalRejected = errors.New("jingle: proposal rejected")
	// ErrProposalRetracted: the proposal was retracted (by us, or by the
	// peer for an incoming one).
	ErrProposalRetracted = errors.New("jingle: proposal retracted")
	// ErrProposalTimeout: nobody answered the proposal in time.
	ErrProposalTimeout = errors.New("jingle: proposal timed out")
	// ErrProposalTieBreak: both sides proposed at once and the peer's
	// proposal won (XEP-0353 §4.1).
	ErrProposalTieBreak = errors.New("jingle: proposal lost a tie-break")
	// ErrAnsweredElsewhere: another resource of our account proceeded
	// or rejected the incoming proposal.
	ErrAnsweredElsewhere = errors.New("jingle: proposal answered on another device")
	// ErrProposalAnswered: Proceed, Reject or Retract on a proposal that
	// was already answered.
	ErrProposalAnswered = errors.New("jingle: proposal already answered")
)

// Unexported errors of the manager.
var (
	errNoHandler      = errors.New("no session handler")
	errNoPeer         = errors.New("no peer JID")
	errNeedFullJID    = errors.New("a session needs the peer's full JID (use Propose to ring a bare JID)")
	errNoJingle       = errors.New("no jingle element")
	errSessionExists  = errors.New("session exists")
	errContentExists  = errors.New("content exists")
	errUnknownContent = errors.New("unknown content")
	errWrongDirection = errors.New("not possible in this direction")
	errNotInLoop      = errors.New("queueing from outside the session's loop (other goroutines use Send)")
)
