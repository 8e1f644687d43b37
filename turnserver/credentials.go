package turnserver

import (
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // RFC 8489 section 9.2.2 long-term key is MD5 by definition.
	"crypto/sha1" //nolint:gosec // The TURN REST scheme is HMAC-SHA1 by definition.
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GenerateCredentials mints a time-limited TURN username/password pair for
// the shared-secret scheme used by coturn (use-auth-secret), Prosody's
// mod_turn_external, ejabberd and eturnal (draft-uberti-behave-turn-rest-00):
// the username is EXPIRY[:USER] with EXPIRY in Unix seconds, and the password
// base64(HMAC-SHA1(secret, username)). user may be empty, as Prosody sends it
// when turn_external_user is unset.
func GenerateCredentials(secret, user string, ttl time.Duration, now time.Time) (username, password string, err error) {
	if secret == "" {
		return "", "", errNoSecret
	}
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10)
	if user != "" {
		username += ":" + user
	}

	return username, restPassword(secret, username), nil
}

func restPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username)) //nolint:errcheck // hash.Hash.Write never fails.

	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseRESTUsername splits EXPIRY[:USER] and returns the expiry time and the
// user part (empty if absent).
func ParseRESTUsername(username string) (expiry time.Time, user string, err error) {
	ts, user, _ := strings.Cut(username, ":")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, "", fmt.Errorf("%w: %q", ErrBadUsername, username)
	}

	return time.Unix(sec, 0), user, nil
}

// longTermKey is the RFC 8489 section 9.2.2 key: MD5(username:realm:password).
func longTermKey(username, realm, password string) []byte {
	h := md5.New()                                           //nolint:gosec // See import comment.
	h.Write([]byte(username + ":" + realm + ":" + password)) //nolint:errcheck // Never fails.

	return h.Sum(nil)
}
