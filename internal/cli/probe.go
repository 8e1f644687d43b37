package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// Feature groups that probe reports, by what a person wants to know.
var probeGroups = []struct {
	name     string
	features map[string]string
}{
	{"jingle", map[string]string{
		jingle.NS:                               "Jingle (XEP-0166)",
		jingle.NSMessage:                        "Jingle Message Initiation (XEP-0353)",
		"urn:xmpp:jingle:apps:rtp:1":            "RTP sessions (XEP-0167)",
		"urn:xmpp:jingle:apps:rtp:audio":        "audio",
		"urn:xmpp:jingle:apps:rtp:video":        "video",
		"urn:xmpp:jingle:apps:dtls:0":           "DTLS-SRTP (XEP-0320)",
		"urn:xmpp:jingle:apps:grouping:0":       "BUNDLE (XEP-0338)",
		"urn:xmpp:jingle:apps:rtp:rtcp-fb:0":    "RTCP feedback (XEP-0293)",
		"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0": "RTP header extensions (XEP-0294)",
		"urn:xmpp:jingle:apps:rtp:ssma:0":       "source-specific media (XEP-0339)",
		"urn:xmpp:jingle:apps:file-transfer:5":  "file transfer (XEP-0234)",
		"urn:xmpp:jingle:apps:file-transfer:4":  "file transfer (XEP-0234, :4)",
		"urn:xmpp:jingle:apps:file-transfer:3":  "file transfer (XEP-0234, :3)",
	}},
	{"transports", map[string]string{
		"urn:xmpp:jingle:transports:ice-udp:1":            "ICE-UDP (XEP-0176)",
		"urn:xmpp:jingle:transports:raw-udp:1":            "raw UDP (XEP-0177)",
		"urn:xmpp:jingle:transports:s5b:1":                "SOCKS5 bytestreams (XEP-0260)",
		"urn:xmpp:jingle:transports:ibb:1":                "in-band bytestreams (XEP-0261)",
		"urn:xmpp:jingle:transports:webrtc-datachannel:0": "WebRTC datachannel (XEP-0343)",
		"urn:xmpp:jingle:transports:webrtc-datachannel:1": "WebRTC datachannel (Conversations)",
		"urn:xmpp:jingle:transports:dtls-sctp:1":          "DTLS-SCTP datachannel (StanzaJS, Jitsi)",
	}},
}

type probeResult struct {
	JID        string               `json:"jid"`
	Identities []xmpp.Identity      `json:"identities"`
	Features   []string             `json:"features"`
	Jingle     []string             `json:"jingle"`
	Transports []string             `json:"transports"`
	Resources  []string             `json:"resources,omitempty"`
	ICEServers []extdisco.ICEServer `json:"ice_servers,omitempty"`
}

func newProbe(g *globals) *cobra.Command {
	var (
		acct     accountFlags
		extDisco bool
	)
	cmd := &cobra.Command{
		Use:   "probe JID",
		Short: "Show which Jingle features and transports a peer supports",
		Long: `Asks JID for its features (XEP-0030 disco#info) and lists what matters for
calls and file transfer: Jingle applications, media (audio, video),
transports, JMI. Codecs are not announced in disco#info: they are
negotiated per call, and 'jingle call --json' reports the one used. A
bare JID probes every online resource the account can see (needs a
presence subscription); a full JID probes that resource. With --extdisco
it also lists the STUN/TURN servers the account's XMPP server hands out
(XEP-0215).`,
		Example: `  JINGLE_PASSWORD=... jingle probe --jid alice@example.org bob@example.org/phone
  jingle probe --jid alice@example.org --extdisco example.org --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ep, err := g.login(ctx, &acct)
			if err != nil {
				return err
			}
			defer ep.close()
			// No Jingle of our own: answer disco#info at once.
			ep.client.FeaturesReady()
			results, err := probeJID(ctx, ep, args[0])
			if err != nil {
				return err
			}
			if extDisco {
				res, err := extdisco.Discover(ctx, ep.client, ep.client.Domain(), nil)
				if err != nil {
					return exitf(ExitFailure, "XEP-0215 query: %v", err)
				}
				for i := range results {
					results[i].ICEServers = res.Servers
				}
			}
			var human strings.Builder
			for _, r := range results {
				fmt.Fprintf(&human, "%s\n", r.JID)
				for _, id := range r.Identities {
					fmt.Fprintf(&human, "  identity:   %s/%s %s\n", id.Category, id.Type, id.Name)
				}
				fmt.Fprintf(&human, "  jingle:     %s\n", orNone(r.Jingle))
				fmt.Fprintf(&human, "  transports: %s\n", orNone(r.Transports))
				for _, s := range r.ICEServers {
					fmt.Fprintf(&human, "  ice server: %s (expires %s)\n", s.URL, s.Expires.Format(time.RFC3339))
				}
			}
			if len(results) == 1 {
				return g.out.Result(strings.TrimRight(human.String(), "\n"), results[0])
			}
			return g.out.Result(strings.TrimRight(human.String(), "\n"), results)
		},
	}
	acct.register(cmd)
	cmd.Flags().BoolVar(&extDisco, "extdisco", false, "also list the STUN/TURN servers of the account's server (XEP-0215)")
	return cmd
}

// probeJID asks target for its features: a full JID, or every online
// resource of a bare JID the account can see (the bare JID itself when
// none is visible).
func probeJID(ctx context.Context, ep *endpoint, target string) ([]probeResult, error) {
	targets := []string{target}
	if !strings.Contains(target, "/") && strings.Contains(target, "@") {
		// Give presence a moment to arrive after login.
		time.Sleep(500 * time.Millisecond)
		if rs := ep.client.Resources(target); len(rs) > 0 {
			targets = rs
		}
	}
	var results []probeResult
	for _, t := range targets {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		info, err := ep.client.DiscoInfo(qctx, t)
		cancel()
		if err != nil {
			var je *jingle.Error
			if errors.As(err, &je) {
				return nil, exitf(ExitNoAnswer, "%s did not answer disco#info: %v", t, je)
			}
			return nil, exitf(ExitNoAnswer, "probing %s: %v", t, err)
		}
		r := probeResult{JID: t, Identities: info.Identities, Features: info.Features}
		r.Jingle, r.Transports = classify(info.Features)
		results = append(results, r)
	}
	return results, nil
}

func classify(features []string) (jingleFeatures, transports []string) {
	have := map[string]bool{}
	for _, f := range features {
		have[f] = true
	}
	for i, grp := range probeGroups {
		var out []string
		for ns, label := range grp.features {
			if have[ns] {
				out = append(out, label)
			}
		}
		sort.Strings(out)
		if i == 0 {
			jingleFeatures = out
		} else {
			transports = out
		}
	}
	return jingleFeatures, transports
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
