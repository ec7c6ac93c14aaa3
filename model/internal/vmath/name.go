package vmath

// KernelName names the row kernels ExpShift and RowMax use in this process ("avx2" or "go"), for
// benchmark and bug reports.
func KernelName() string { return rows().name }
