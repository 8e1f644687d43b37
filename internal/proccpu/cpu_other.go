//go:build !unix

package report

import "time"

// ProcessCPU is 0 where getrusage is missing: the CPU column then reads 0.
func ProcessCPU() time.Duration { return 0 }
