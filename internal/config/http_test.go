package config

import "testing"

// TestStatusJIDs: peers' JIDs stay off the status page unless the
// operator turns them on, in the file or with an override.
func TestStatusJIDs(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		sets      []string
		want      bool
	}{
		{"default off", "[http]\nlisten = \"127.0.0.1:9477\"\n", nil, false},
		{"on in the file", "[http]\nlisten = \"127.0.0.1:9477\"\nstatus_jids = true\n", nil, true},
		{"on by override", "[http]\nlisten = \"127.0.0.1:9477\"\n", []string{"http.status_jids=true"}, true},
		{"off by override", "[http]\nstatus_jids = true\n", []string{"http.status_jids=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc + "[turn]\nenabled = true\nsecrets = [\"a-long-enough-shared-secret\"]\n"
			c, err := Parse([]byte(doc), t.TempDir(), nil, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP.StatusJIDs != tc.want {
				t.Errorf("status_jids = %v, want %v", c.HTTP.StatusJIDs, tc.want)
			}
		})
	}
}
