package turnserver_test

import (
	"fmt"
	"time"

	"github.com/jingled/jingled/turnserver"
)

// What Prosody's mod_turn_external (turn_external_secret = "north",
// turn_external_user = "romeo") hands a client, and what the relay accepts
// with Secrets: ["north"] until the expiry in the username. The password was
// checked independently with Python's hmac module.
func ExampleGenerateCredentials() {
	now := time.Unix(1700000000, 0)
	user, pass, err := turnserver.GenerateCredentials("north", "romeo", 24*time.Hour, now)
	if err != nil {
		panic(err)
	}
	fmt.Println(user)
	fmt.Println(pass)
	expiry, who, _ := turnserver.ParseRESTUsername(user)
	fmt.Println(expiry.UTC().Format(time.RFC3339), who)
	// Output:
	// 1700086400:romeo
	// tZh7Bp02dRcPTE/dbYU/W5+0Qqs=
	// 2023-11-15T22:13:20Z romeo
}

// A relay for a Prosody or ejabberd host: shared secret, default-deny peer
// policy, every other setting at its default.
func ExampleNew() {
	s, err := turnserver.New(turnserver.Config{
		Address: "127.0.0.1",
		Realm:   "example.org",
		Secrets: []string{"change-me-to-a-long-random-string"},
	}, turnserver.WithEphemeralPorts())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	fmt.Println(s.Addrs().UDP != nil, s.Addrs().TCP != nil, s.Addrs().TLS != nil)
	// Output: true true false
}
