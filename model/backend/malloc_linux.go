//go:build cgo && !noxla && linux

package backend

/*
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static int agentlens_heap_kept = 0;

// agentlens_keep_heap runs when the program is loaded, before any thread exists (glibc fixes its arena
// limit when the second arena is made, so a later mallopt(M_ARENA_MAX) would be too late). It keeps
// memory freed by the XLA plugin in one heap for reuse instead of returning it to the kernel.
__attribute__((constructor)) static void agentlens_keep_heap(void) {
	const char *m = getenv("AGENTLENS_MALLOC");
	if ((m != NULL && strcmp(m, "default") == 0) || getenv("GLIBC_TUNABLES") != NULL) {
		return;
	}
	agentlens_heap_kept = mallopt(M_ARENA_MAX, 1) == 1 && mallopt(M_MMAP_MAX, 0) == 1 &&
		mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
}

static int agentlens_heap_kept_get(void) { return agentlens_heap_kept; }
*/
import "C"

// HeapKept reports whether glibc malloc was set, at program start, to keep freed memory for reuse
// (one arena, no mmap'd chunks, no trimming).
//
// Why: the XLA CPU plugin allocates each execution's temporaries and outputs with malloc. By default
// glibc serves allocations above its mmap threshold (at most 32 MiB) with fresh mmap regions, unmaps
// them on free and shrinks per-thread arenas, so every layer's attention scores (tens of MiB at 4k
// tokens) are zero-filled by the kernel page by page on every call. Measured on SmolLM2 at 4,096
// tokens, per forward pass: 4.9 million minor page faults, 18 s system time, 32 s wall by default;
// 45 thousand faults, 0.4 s system time, 23 s wall with the heap kept (peak RSS 3.3 GiB instead of
// 3.0). Go's own heap does not use malloc and is unaffected.
//
// The setting is made by a C constructor in every cgo binary that links the xla backend, before Go
// starts; AGENTLENS_MALLOC=default, or any GLIBC_TUNABLES (which then rule), leaves glibc as it is.
func HeapKept() bool { return C.agentlens_heap_kept_get() != 0 }
