package cli

import (
	"github.com/spf13/cobra"

	"github.com/jingled/jingled/rtp"
)

// registerCodecs adds --codecs to call and answer: the codecs the call
// may use, in our order of preference. The peer's preference still
// decides among them (it picks from what we offer; we send in the first
// of its list that we carry).
func registerCodecs(cmd *cobra.Command, codecs *[]string) {
	cmd.Flags().StringSliceVar(codecs, "codecs", nil,
		"codecs the call may use, in order of preference (comma-separated: opus, G722, PCMU, PCMA, VP8, VP9, H264, or H264/42e01f, H264/4d001f, H264/640c1f; audio and video mixed, a kind not named keeps all)")
}

// checkCodecs refuses unknown --codecs names before anyone is called.
func checkCodecs(codecs []string) error {
	if err := rtp.CheckCodecNames(codecs); err != nil {
		return exitf(ExitUsage, "--codecs: %v", err)
	}
	return nil
}
