package turnserver

import (
	"sync"

	"golang.org/x/time/rate"
)

// userLimiters shares one token bucket among all relay sockets of a user, so
// a per-user bandwidth cap holds however many allocations the user opens.
type userLimiters struct {
	mu  sync.Mutex
	bps int64
	m   map[string]*userLimiter
}

type userLimiter struct {
	lim  *rate.Limiter
	refs int
}

func newUserLimiters(bps int64) *userLimiters {
	return &userLimiters{bps: bps, m: make(map[string]*userLimiter)}
}

// newBucket allows bursts of a quarter second, enough for a video keyframe.
func newBucket(bps int64) *rate.Limiter {
	burst := max(int(bps/4), 64*1024)

	return rate.NewLimiter(rate.Limit(bps), burst)
}

func (u *userLimiters) get(user string) *rate.Limiter {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.m[user]
	if l == nil {
		l = &userLimiter{lim: newBucket(u.bps)}
		u.m[user] = l
	}
	l.refs++

	return l.lim
}

func (u *userLimiters) release(user string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if l := u.m[user]; l != nil {
		if l.refs--; l.refs <= 0 {
			delete(u.m, user)
		}
	}
}
