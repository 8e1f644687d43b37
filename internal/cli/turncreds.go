package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/turnserver"
)

func newTurnCredentials(g *globals) *cobra.Command {
	var (
		secretFile string
		user       string
		ttl        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "turn-credentials",
		Short: "Print a time-limited TURN username and password for a shared secret",
		Long: `Prints the username/password pair a TURN server using the shared-secret
scheme (coturn's use-auth-secret, Prosody's mod_turn_external, ejabberd,
jingled's turn.secrets) accepts: username EXPIRY[:USER], password
base64(HMAC-SHA1(secret, username)).

The secret comes from $JINGLE_TURN_SECRET or --secret-file.`,
		Example: `  JINGLE_TURN_SECRET=s3cret jingle turn-credentials --user alice --ttl 1h
  jingle turn-credentials --secret-file /etc/jingled/turn.secret --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, err := readSecret(secretFile, "JINGLE_TURN_SECRET", "secret")
			if err != nil {
				return err
			}
			if ttl <= 0 {
				return exitf(ExitUsage, "--ttl must be positive")
			}
			now := time.Now()
			username, password, err := turnserver.GenerateCredentials(secret, user, ttl, now)
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			expires := now.Add(ttl).UTC().Truncate(time.Second)
			return g.out.Result(
				fmt.Sprintf("username: %s\npassword: %s\nexpires:  %s", username, password, expires.Format(time.RFC3339)),
				map[string]any{"username": username, "password": password, "expires": expires.Format(time.RFC3339), "ttl": int(ttl.Seconds())},
			)
		},
	}
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "file holding the shared secret (else $JINGLE_TURN_SECRET)")
	cmd.Flags().StringVar(&user, "user", "", "optional user part of the username (EXPIRY:USER)")
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "lifetime of the credential")
	return cmd
}
