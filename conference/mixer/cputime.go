package mixer

import "time"

var clockStart = time.Now()

// monotonic is the time since the package loaded, from the monotonic
// clock.
func monotonic() time.Duration { return time.Since(clockStart) }
