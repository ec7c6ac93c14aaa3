package bench

import (
	"os"
	"strings"
	"syscall"
	"time"
)

// childPeakRSS returns the exited child's ru_maxrss in bytes (Linux reports kilobytes), or 0.
func childPeakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// selfPeakRSS returns this process's peak resident set (VmHWM) in bytes, or 0.
func selfPeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return parseKB(line)
		}
	}
	return 0
}

// selfCPUSeconds returns the user plus system CPU time this process has used so far, or 0.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
