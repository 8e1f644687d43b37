package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/filetransfer"
)

// registerPartialMaxAge adds --partial-max-age to receive.
func registerPartialMaxAge(cmd *cobra.Command, maxAge *time.Duration) {
	cmd.Flags().DurationVar(maxAge, "partial-max-age", filetransfer.DefaultPartialMaxAge,
		"at start, remove partial files (.jingle-*.part, left by a crashed or killed receive) not written for this long; younger ones stay for the sender to resume, and one another running receive holds is never removed (0: keep all)")
}

// cleanPartials removes the stale partial files of d at start-up (see
// filetransfer.Dir.CleanPartials) and returns a report for after the
// "ready" event, which scripts expect first.
func cleanPartials(d *filetransfer.Dir, maxAge time.Duration) (report func(*output), err error) {
	if maxAge < 0 {
		return nil, exitf(ExitUsage, "--partial-max-age %v: want 0 (keep all) or more", maxAge)
	}
	removed, cerr := d.CleanPartials(maxAge)
	return func(out *output) {
		if len(removed) > 0 {
			out.Event("partials-removed", fmt.Sprintf("Removed %d partial file(s) not written for %v from %s.", len(removed), maxAge, d.Path()),
				map[string]any{"removed": removed, "max_age": maxAge.String()})
		}
		if cerr != nil {
			out.Event("error", "Cleaning partial files: "+cerr.Error(), map[string]any{"error": cerr.Error()})
		}
	}, nil
}
