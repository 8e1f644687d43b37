package config

import (
	"errors"

	"github.com/jingled/jingled/rtp"
)

// validateRTPSend checks rtp_send, rtp_sdp and rtp_allow_remote.
func (a *Account) validateRTPSend(bad func(sub, format string, args ...any) error) error {
	if a.RTPSend == "" {
		if a.RTPSDP != "" {
			return bad("rtp_sdp", "describes the rtp_send streams: set rtp_send too")
		}
		return nil
	}
	switch a.Role {
	case RoleEcho, RoleRecord, RolePlay:
	default:
		return bad("rtp_send", "only the echo, record and play roles take calls to forward (role is %q)", a.Role)
	}
	if err := checkHostPort(a.RTPSend); err != nil {
		return bad("rtp_send", "%v", err)
	}
	if _, err := rtp.LoopbackAddr(a.RTPSend); err != nil {
		if !errors.Is(err, rtp.ErrNotLoopback) {
			return bad("rtp_send", "%v", err)
		}
		if !a.RTPAllowRemote {
			return bad("rtp_send", "%s is not a loopback address: plain RTP is unencrypted, so the calls would cross the network in the clear; set rtp_allow_remote = true if that is what you want", a.RTPSend)
		}
	}
	if a.RTPSDP == "" && a.Role != RoleRecord {
		return bad("rtp_sdp", "rtp_send needs a file to describe its streams in (only the record role has a default, beside each recording)")
	}
	return nil
}
