package s5b

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"

	"github.com/jingled/jingled/jingle"
)

// XEP-0030 namespaces used to find a proxy.
const (
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
)

// StreamHost is an XEP-0065 proxy: its JID and the address it listens on.
type StreamHost struct {
	JID  string `xml:"jid,attr"`
	Host string `xml:"host,attr"`
	Port uint16 `xml:"port,attr"`
}

// DiscoverProxies walks the server's disco#items (XEP-0065 §4: items
// whose disco#info has identity proxy/bytestreams) and asks each proxy
// for its streamhost. Items that fail to answer are skipped; ErrNoProxy
// means none was found.
func DiscoverProxies(ctx context.Context, out jingle.Sender, from, server string) ([]StreamHost, error) {
	var items struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	if err := query(ctx, out, from, server, jingle.IQGet, fmt.Sprintf("<query xmlns='%s'/>", nsDiscoItems), &items); err != nil {
		return nil, fmt.Errorf("s5b: disco#items of %s: %w", server, err)
	}
	var hosts []StreamHost
	var errs []error
	for _, it := range append([]struct {
		JID string `xml:"jid,attr"`
	}{{JID: server}}, items.Items...) {
		var info struct {
			Identities []struct {
				Category string `xml:"category,attr"`
				Type     string `xml:"type,attr"`
			} `xml:"identity"`
		}
		if err := query(ctx, out, from, it.JID, jingle.IQGet, fmt.Sprintf("<query xmlns='%s'/>", nsDiscoInfo), &info); err != nil {
			errs = append(errs, err)
			continue
		}
		isProxy := false
		for _, id := range info.Identities {
			isProxy = isProxy || (id.Category == "proxy" && id.Type == "bytestreams")
		}
		if !isProxy {
			continue
		}
		sh, err := QueryStreamHost(ctx, out, from, it.JID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		hosts = append(hosts, sh)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w on %s: %w", ErrNoProxy, server, errors.Join(errs...))
	}
	return hosts, nil
}

// QueryStreamHost asks a proxy for its network address (XEP-0065 §6.3.1).
func QueryStreamHost(ctx context.Context, out jingle.Sender, from, proxy string) (StreamHost, error) {
	var q struct {
		StreamHosts []StreamHost `xml:"streamhost"`
	}
	if err := query(ctx, out, from, proxy, jingle.IQGet, fmt.Sprintf("<query xmlns='%s'/>", NSBytestreams), &q); err != nil {
		return StreamHost{}, fmt.Errorf("s5b: streamhost of %s: %w", proxy, err)
	}
	for _, sh := range q.StreamHosts {
		if sh.Host != "" && sh.Port != 0 {
			if sh.JID == "" {
				sh.JID = proxy
			}
			return sh, nil
		}
	}
	return StreamHost{}, fmt.Errorf("%w: %s announced no usable streamhost", ErrNoProxy, proxy)
}

// activate asks the proxy to relay between the two connections that used
// the DST.ADDR of (sid, from, target) (XEP-0065 §6.3.5).
func activate(ctx context.Context, out jingle.Sender, from, proxy, sid, target string) error {
	var b []byte
	b = append(b, "<query xmlns='"+NSBytestreams+"' sid='"...)
	b = appendEscaped(b, sid)
	b = append(b, "'><activate>"...)
	b = appendEscaped(b, target)
	b = append(b, "</activate></query>"...)
	if err := query(ctx, out, from, proxy, jingle.IQSet, string(b), nil); err != nil {
		return fmt.Errorf("s5b: activating %s on %s: %w", sid, proxy, err)
	}
	return nil
}

func appendEscaped(b []byte, s string) []byte {
	var w xmlBuf
	_ = xml.EscapeText(&w, []byte(s))
	return append(b, w...)
}

type xmlBuf []byte

func (w *xmlBuf) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

var iqCounter = newCounter()

// query sends one IQ and decodes the result's payload into v (if non-nil).
func query(ctx context.Context, out jingle.Sender, from, to string, typ jingle.IQType, payload string, v any) error {
	if out == nil {
		return fmt.Errorf("s5b: no XMPP sender to query %s", to)
	}
	iq := &jingle.IQ{ID: "s5b-" + strconv.FormatUint(iqCounter(), 36), From: from, To: to, Type: typ, Payload: []byte(payload)}
	res, err := out.SendIQ(ctx, iq)
	if err != nil {
		return err
	}
	if res.Type == jingle.IQError && res.Error != nil {
		return res.Error
	}
	if v == nil || len(res.Payload) == 0 {
		return nil
	}
	if err := xml.Unmarshal(res.Payload, v); err != nil {
		return fmt.Errorf("s5b: decoding reply from %s: %w", to, err)
	}
	return nil
}
