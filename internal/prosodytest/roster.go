package prosodytest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// rosters are the contacts written by Befriend, per local part.
var rosters sync.Map // *Server + local -> *roster

type roster struct {
	mu       sync.Mutex
	contacts map[string]bool
}

// Befriend makes a and b contacts of each other with a mutual presence
// subscription ("both", RFC 6121 §3), as two people who call each other
// are: each sees the other's available resources and their caps on login.
// It writes Prosody's roster files, so it must run before either account
// logs in (Prosody reads a roster when its first session starts).
func (s *Server) Befriend(a, b Account) error {
	if err := s.addContact(a.Local, b.JID); err != nil {
		return err
	}
	return s.addContact(b.Local, a.JID)
}

func (s *Server) addContact(local, contact string) error {
	v, _ := rosters.LoadOrStore(s.Dir+"\x00"+local, &roster{contacts: map[string]bool{}})
	r := v.(*roster)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.contacts[contact] = true
	var jids []string
	for j := range r.contacts {
		jids = append(jids, j)
	}
	sort.Strings(jids)
	var b strings.Builder
	b.WriteString("return {\n\t[false] = { [\"version\"] = 1; };\n")
	for _, j := range jids {
		fmt.Fprintf(&b, "\t[%s] = { [\"subscription\"] = \"both\"; [\"groups\"] = {}; };\n", luaString(j))
	}
	b.WriteString("};\n")
	acc := s.accountFile(local)
	path := filepath.Join(filepath.Dir(filepath.Dir(acc)), "roster", filepath.Base(acc))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("prosodytest: roster of %s: %w", local, err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
		return fmt.Errorf("prosodytest: roster of %s: %w", local, err)
	}
	return nil
}
