//go:build unix

package sim

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system, all
// threads: on a machine shared with other work it measures the work of a
// benchmark better than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
