package extdisco

import "github.com/pion/webrtc/v4"

// ToWebRTC converts ICE servers for pion's webrtc.Configuration. Each entry
// keeps its own credentials, since TURN REST credentials differ per server.
func ToWebRTC(servers []ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		e := webrtc.ICEServer{URLs: []string{s.URL}}
		if s.Username != "" {
			e.Username = s.Username
			e.Credential = s.Credential
			e.CredentialType = webrtc.ICECredentialTypePassword
		}
		out = append(out, e)
	}
	return out
}
