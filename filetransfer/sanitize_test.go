package filetransfer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".tar.gz" // 300 bytes of stem
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{"a/b", "b"},
		{`C:\Windows\system32\evil.exe`, "evil.exe"},
		{"C:evil.exe", "evil.exe"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{"/", "file"},
		{".bashrc", "bashrc"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"LPT9.log", "_LPT9.log"},
		{"CONSOLE.txt", "CONSOLE.txt"},
		{"nul\x00.txt", "_nul.txt"},
		{"a\x00b\x01c\nd.txt", "abcd.txt"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"what?.txt", "what_.txt"},
		{"trailing. . ", "trailing"},
		{"bad\xffutf8", "bad_utf8"},
	}
	for _, tt := range tests {
		if got := SanitizeName(tt.in); got != tt.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := SanitizeName(long)
	if len(got) > MaxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".gz") {
		t.Fatalf("300-byte name -> %q (%d bytes)", got, len(got))
	}
	n := numbered(got, 12)
	if len(n) > 255 || !strings.HasSuffix(n, " (12).gz") || !utf8.ValidString(n) {
		t.Fatalf("numbered -> %q (%d bytes)", n, len(n))
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "CON", "a/b", strings.Repeat("x", 300), "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeName(s)
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") ||
			len(got) > MaxNameBytes || !utf8.ValidString(got) {
			t.Fatalf("SanitizeName(%q) = %q", s, got)
		}
	})
}
