package daemon

import (
	"fmt"
	"io"

	"github.com/jingled/jingled/internal/config"
	"github.com/jingled/jingled/turnserver"
)

// printXMPPConfig writes the configuration that makes server ("prosody"
// or "ejabberd") announce the relay to its users (XEP-0215): the services
// of turn.advertise on turn.public_host, with credentials from the first
// of turn.secrets. Printed from the same file the relay runs from, so
// what clients are told matches what listens, TURN over TLS on 443
// included.
func printXMPPConfig(w io.Writer, cfg *config.Config, server string) error {
	if !cfg.TURN.Enabled {
		return fmt.Errorf("--xmpp-config: [turn] is not enabled in this configuration")
	}
	var (
		out string
		err error
	)
	switch server {
	case "prosody":
		out, err = turnserver.ProsodyConfig(cfg.TURN.Config)
	case "ejabberd":
		out, err = turnserver.EjabberdConfig(cfg.TURN.Config)
	default:
		return fmt.Errorf("--xmpp-config %q: want prosody or ejabberd", server)
	}
	if err != nil {
		return fmt.Errorf("--xmpp-config %s: %w", server, err)
	}
	_, err = io.WriteString(w, out)

	return err
}
