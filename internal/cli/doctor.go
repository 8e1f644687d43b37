package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/internal/doctor"
	"github.com/jingled/jingled/xmpp"
)

// doctorRun is one `jingle doctor`: its options and the report it fills.
type doctorRun struct {
	g      *globals
	ep     *endpoint
	report *doctor.Report
	// lanOK accepts loopback and private reflexive and relayed addresses
	// (and relaying to private peers) as fine, for a relay that serves a
	// LAN or a test machine.
	lanOK bool
	// caFile is --ca: also trusted for TURN over TLS.
	caFile string
	// timeout bounds each network step (one STUN/TURN transaction, one
	// XMPP query).
	timeout time.Duration
	// self is what the STUN checks learnt about this machine's address,
	// for the call-path verdict.
	self selfAddress
}

func newDoctor(g *globals) *cobra.Command {
	var (
		acct    accountFlags
		peer    string
		lanOK   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what calls need from the XMPP server and the STUN/TURN relay",
		Long: `Logs in as --jid and checks, step by step, what a call across NAT needs:
the XMPP server's TLS certificate and SCRAM login (and its software,
XEP-0092, when offered); STUN/TURN discovery (XEP-0215, urn:xmpp:extdisco:2
then :1) and whether it announces TURN over TLS on port 443 (the way
through networks that let only 443 out); for every announced service its
DNS name, reach over each announced transport (UDP, TCP, TLS), a STUN
binding (is the reflexive address public?), a TURN allocation with the
announced credentials (a refusal explained: secret mismatch, expired
credential or clock skew, quota), whether the relayed address is public
and a round trip through two allocations; that the relay refuses to
relay to loopback and private addresses; the Jingle features of the
server and, with --peer, of a contact's online resources, and whether a
call to it depends on the relay.

Each finding has an id, a one-line fix and the docs/DEPLOY.md section that
explains it ("When calls fail"). Exit code 0: no problem found; 1: at least
one warning or error; 2: usage.

--lan-ok accepts loopback and private addresses for a relay that serves a
LAN (or a test machine): reflexive and relayed addresses that are not
public are then information, not problems, and so is a relay that reaches
private peers. Relaying to loopback is a problem either way. --ca is also
trusted for TURN over TLS.`,
		Example: `  JINGLE_PASSWORD=... jingle doctor --jid alice@example.org
  jingle doctor --jid alice@example.org --peer bob@example.org --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return exitf(ExitUsage, "--step-timeout must be positive")
			}
			d := &doctorRun{g: g, lanOK: lanOK, caFile: acct.caFile, timeout: timeout,
				report: &doctor.Report{JID: acct.jid}}
			if d.report.JID == "" {
				d.report.JID = os.Getenv("JINGLE_JID")
			}
			if err := d.run(cmd.Context(), &acct, peer); err != nil {
				return err
			}
			if err := g.out.Result(d.report.Text(), d.report); err != nil {
				return err
			}
			if code := d.report.ExitCode(); code != 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d problem(s) found", len(d.report.Problems()))}
			}
			return nil
		},
	}
	acct.register(cmd)
	f := cmd.Flags()
	f.StringVar(&peer, "peer", "", "also check a contact (bare or full JID): its Jingle features and whether a call to it needs the relay")
	f.BoolVar(&lanOK, "lan-ok", false, "accept loopback/private addresses (a LAN or test relay): not-public reflexive and relayed addresses are information, not problems")
	f.DurationVar(&timeout, "step-timeout", 4*time.Second, "how long each network step (a STUN/TURN transaction, an XMPP query) may take")
	return cmd
}

// run performs the checks in order; a step whose prerequisite failed is
// skipped (its cause is already in the report). Only usage errors and
// interruptions are returned.
func (d *doctorRun) run(ctx context.Context, acct *accountFlags, peer string) error {
	if ok, err := d.login(ctx, acct); !ok {
		return err
	}
	defer d.ep.close()
	// No Jingle of our own: answer disco#info at once.
	d.ep.client.FeaturesReady()
	d.serverInfo(ctx)
	servers := d.discover(ctx)
	d.checkServices(ctx, servers)
	if peer != "" {
		d.checkPeer(ctx, peer)
	}
	return ctx.Err()
}

// login logs in and reports how; false when there is nothing more to
// check, with an error only for usage mistakes and interruptions.
func (d *doctorRun) login(ctx context.Context, acct *accountFlags) (bool, error) {
	ep, err := d.g.login(ctx, acct)
	domain := d.report.JID
	if i := strings.LastIndexByte(domain, '@'); i >= 0 {
		domain = domain[i+1:]
	}
	if c := CodeOf(err); c == ExitUsage || c == ExitInterrupted {
		return false, err
	}
	if err != nil {
		d.report.Add(loginFinding(domain, err))
		return false, nil
	}
	d.ep = ep
	c := ep.client
	how := "without TLS (--plain)"
	sev := doctor.Info
	if c.Encrypted() {
		how, sev = "over TLS (certificate verified)", doctor.OK
	}
	d.report.Add(doctor.New(doctor.IDXMPPLogin, sev, domain,
		fmt.Sprintf("logged in as %s %s with %s", c.JID(), how, c.Mechanism())))
	return true, nil
}

// loginFinding says why the login failed. The XMPP layer hands the
// certificate error on as text (connectError keeps it in the message).
func loginFinding(domain string, err error) doctor.Finding {
	msg := err.Error()
	switch {
	case strings.Contains(msg, xmpp.ErrTLS.Error()):
		return doctor.TLSFailure(domain, msg)
	case CodeOf(err) == ExitAuth:
		return doctor.New(doctor.IDXMPPAuth, doctor.Error, domain, msg)
	}
	return doctor.New(doctor.IDXMPPUnreachable, doctor.Error, domain, msg)
}

// stepCtx bounds one network step.
func (d *doctorRun) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// isTimeout tells a step that got no answer.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}
