package cli

import (
	"time"

	"github.com/spf13/cobra"
)

// accountFlags are the flags of the subcommands that log in to XMPP.
type accountFlags struct {
	jid          string
	passwordFile string
	server       string
	caFile       string
	plain        bool
	resource     string
	// reconnectFor bounds reconnection after a loss (--reconnect-for
	// where registerReconnect added it); reportReconnect prints its
	// progress as events.
	reconnectFor    time.Duration
	reportReconnect bool
}

func (a *accountFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.jid, "jid", "", "account JID (user@domain); also $JINGLE_JID")
	f.StringVar(&a.passwordFile, "password-file", "", "file holding the password (else $JINGLE_PASSWORD)")
	f.StringVar(&a.server, "server", "", "XMPP server host:port (default: the JID's domain, port 5222)")
	f.StringVar(&a.caFile, "ca", "", "PEM file of a CA to trust (a local test server's certificate)")
	f.BoolVar(&a.plain, "plain", false, "allow an unencrypted connection (loopback servers only)")
	f.StringVar(&a.resource, "resource", "", "resource to bind (default: jingle-<random>)")
	a.reconnectFor = defaultReconnectFor
}

// addAccountCommands adds the subcommands that need an XMPP account.
func addAccountCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newCall(g), newAnswer(g), newSend(g), newReceive(g), newFetch(g), newProbe(g))
}
