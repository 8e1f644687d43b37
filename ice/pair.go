package ice

// Pair is the ICE candidate pair a transport runs over, as reported once
// connectivity is established: candidate types (host, srflx, prflx,
// relay), addresses and protocol. Calls (rtp) and datachannel transfers
// (filetransfer) report it so an operator sees whether media went direct
// or through the relay.
type Pair struct {
	LocalType  string `json:"local_type"`
	RemoteType string `json:"remote_type"`
	Local      string `json:"local"`
	Remote     string `json:"remote"`
	Protocol   string `json:"protocol"`
}

// Relayed reports whether either side of the pair is a TURN relay.
func (p Pair) Relayed() bool { return p.LocalType == "relay" || p.RemoteType == "relay" }
