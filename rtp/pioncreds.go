// Fixed ICE credentials for a transport split off a bundle, released once
// its ICE agent holds them, so that later ICE restarts get new ones.

package rtp

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/pion/webrtc/v4"
)

// errPionLayout: the pion version in go.mod no longer has the fields
// releaseFixedCredentials clears (TestReleaseFixedCredentials fails first).
var errPionLayout = errors.New("rtp: pion's PeerConnection has no settingEngine.candidates credentials (pion upgraded?)")

// releaseFixedCredentials clears the fixed local ICE credentials
// (SettingEngine.SetICECredentials) of pc's own API once pc's ICE agent
// has been created with them.
//
// Why: a PeerConnection split off a bundle (Call.unbundle) must start
// with the credentials of our offer, the only ones the peer knows; pion
// takes them from the SettingEngine. But pion v4 also passes them to
// every ICE restart (ICETransport.restart hands
// settingEngine.candidates.UsernameFragment and Password to
// Agent.Restart), so our restart offer would carry the old ufrag and the
// peer, which detects a restart by a new ufrag (XEP-0176 §2.4, RFC 8445
// §9), would not restart: a split call could never repair its path. With
// the fields empty, Agent.Restart draws random credentials, as for any
// other PeerConnection. pion has no API to change them after creation,
// hence the reflection; each PeerConnection has an API of its own
// (newAPI), so no other PeerConnection is touched. Callers run on the
// call's goroutine, the only one that makes pion create or restart the
// agent.
func releaseFixedCredentials(pc *webrtc.PeerConnection) error {
	api := reflect.ValueOf(pc).Elem().FieldByName("api")
	if api.Kind() != reflect.Pointer || api.IsNil() {
		return errPionLayout
	}
	se := api.Elem().FieldByName("settingEngine")
	if se.Kind() != reflect.Pointer || se.IsNil() {
		return errPionLayout
	}
	cands := se.Elem().FieldByName("candidates")
	if cands.Kind() != reflect.Struct {
		return errPionLayout
	}
	for _, name := range []string{"UsernameFragment", "Password"} {
		f := cands.FieldByName(name)
		if f.Kind() != reflect.String {
			return fmt.Errorf("%w: no %s", errPionLayout, name)
		}
		reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().SetString("")
	}
	return nil
}
