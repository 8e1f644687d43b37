package config

import (
	"strings"
	"testing"
	"time"
)

// TestPartialMaxAge: partial_max_age is filedrop's, unset means the
// caller's default, "0s" keeps partial files, negative is refused.
func TestPartialMaxAge(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	const def = 24 * time.Hour
	for _, c := range []struct {
		name, extra, role string
		want              string // "" means an error naming partial_max_age
	}{
		{"unset: the default", "", "filedrop", def.String()},
		{"an hour", `partial_max_age = "1h"`, "filedrop", "1h0m0s"},
		{"zero keeps them", `partial_max_age = "0s"`, "filedrop", "0s"},
		{"negative", `partial_max_age = "-1s"`, "filedrop", ""},
		{"not a duration", `partial_max_age = "soon"`, "filedrop", ""},
		{"not the filedrop role", `partial_max_age = "1h"`, "record", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := strings.Replace(good, `role = "echo"`, "role = \""+c.role+"\"\ndir = \"/tmp\"\n"+c.extra, 1)
			conf, err := Parse([]byte(cfg), t.TempDir(), nil, nil)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), "partial_max_age") {
					t.Fatalf("want a partial_max_age error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := conf.Accounts[0].PartialMaxAgeValue(def).String(); got != c.want {
				t.Fatalf("partial_max_age %s, want %s", got, c.want)
			}
		})
	}
}
