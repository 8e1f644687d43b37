package cli

import (
	"os"
	"strings"
)

// readSecret returns a secret from a file (first line, trailing newline
// removed) or else from an environment variable; it is never taken from
// the command line, where ps and shell history would show it.
func readSecret(file, envName, what string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", exitf(ExitUsage, "reading %s file: %v", what, err)
		}
		s := strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
		if s == "" {
			return "", exitf(ExitUsage, "%s file %s is empty", what, file)
		}
		return s, nil
	}
	if v := os.Getenv(envName); v != "" {
		return v, nil
	}
	return "", exitf(ExitUsage, "no %s: set %s or pass --%s-file", what, envName, strings.ReplaceAll(what, " ", "-"))
}
