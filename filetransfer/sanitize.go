package filetransfer

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds a sanitized name. Filesystems allow 255 bytes
// (NAME_MAX); the margin leaves room for the " (NN)" collision suffix.
const MaxNameBytes = 240

// maxExtBytes is the longest extension kept when a name is truncated.
const maxExtBytes = 16

// fallbackName replaces a name that sanitizes to nothing.
const fallbackName = "file"

// windowsReserved are device names Windows refuses as file names, with or
// without an extension (CON, CON.txt). Receivers may share directories
// with Windows machines (SMB, sync tools), so they are refused everywhere.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true,
	"COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true,
	"LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"CONIN$": true, "CONOUT$": true,
}

// SanitizeName turns a peer-supplied file name into one safe to create in
// a directory: the last path element only (no '/', '\\', "..", drive
// letters), no control or bidirectional-override characters, none of
// Windows' forbidden characters or device names, no leading dots (hidden
// files) or trailing dots/spaces, valid UTF-8, and at most MaxNameBytes
// bytes, cut on a rune boundary keeping the extension. The result is never
// empty, ".", or "..".
func SanitizeName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	// Drop characters that are invisible or reorder text: a name like
	// "invoice\u202Efdp.exe" displays as "invoiceexe.pdf".
	name = strings.Map(func(r rune) rune {
		switch {
		case r == 0 || unicode.IsControl(r):
			return -1
		case unicode.Is(unicode.Bidi_Control, r), r == '\u200b', r == '\ufeff':
			return -1
		}
		return r
	}, name)
	// Both separators count: a Windows peer may send "C:\\x\\evil.exe".
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	if name == "/" {
		name = ""
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 { // "C:evil" drive-relative names
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"|?*/`, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return fallbackName
	}
	stem, ext := splitExt(name)
	if windowsReserved[strings.ToUpper(strings.TrimRight(stem, " "))] {
		stem = "_" + stem
		name = stem + ext
	}
	return truncateName(name, MaxNameBytes)
}

// splitExt splits "a.tar.gz" into "a.tar" and ".gz"; a name without a
// dot (or with one leading dot only) has no extension.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	return name[:i], name[i:]
}

// truncateName cuts name to max bytes on a rune boundary, keeping a short
// extension so the file still opens with the right program.
func truncateName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	stem, ext := splitExt(name)
	if len(ext) > maxExtBytes || !utf8.ValidString(ext) {
		stem, ext = name, ""
	}
	stem = cutRunes(stem, max-len(ext))
	return stem + ext
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// numbered returns "stem (n).ext" within MaxNameBytes, for collisions.
func numbered(name string, n int) string {
	stem, ext := splitExt(name)
	suffix := " (" + itoa(n) + ")"
	stem = cutRunes(stem, MaxNameBytes+maxExtBytes-len(ext)-len(suffix))
	return stem + suffix + ext
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
