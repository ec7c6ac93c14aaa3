//go:build !linux

package bench

import "os"

// childPeakRSS is not implemented off Linux: the child's own report is used.
func childPeakRSS(ps *os.ProcessState) int64 { return 0 }

// selfPeakRSS is not implemented off Linux.
func selfPeakRSS() int64 { return 0 }

// selfCPUSeconds is not implemented off Linux.
func selfCPUSeconds() float64 { return 0 }
