package sgemm

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// ncMax bounds the columns of B packed at once (kc·ncMax floats, 6 MiB at kc=384: L3-sized).
const ncMax = 4096

// maxTile bounds mr·nr of any micro-kernel (the edge-tile scratch size).
const maxTile = 512

// blocked is the Goto/BLIS algorithm: for each block of ≤ncMax columns and kc depth, B is packed once
// (into kc×nr micro-panels, shared by all workers), then workers take (row block, column range) units,
// pack their mc×kc block of A (into mr×kc micro-panels) and sweep the micro-kernel over it.
func (p plan) blocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32,
	ldb int, beta float32, c []float32, ldc int) {
	kern := p.k
	mr, nr := kern.mr, kern.nr

	nkb := ceilDiv(k, kern.kc)
	kcb := ceilDiv(k, nkb) // balanced depth blocks
	nnb := ceilDiv(n, ncMax)
	ncb := roundUp(ceilDiv(n, nnb), nr)
	nmb := ceilDiv(m, kern.mc)
	mcb := roundUp(ceilDiv(m, nmb), mr)

	threads := max(1, p.threads)
	pbBuf := getBuf(kcb * ncb)
	defer putBuf(pbBuf)
	pb := pbBuf.data
	type workerState struct {
		pa      *buffer
		tmp     [maxTile]float32 // edge tiles
		lastRow int              // row block whose A is packed in pa, or -1
	}
	workers := make([]workerState, threads)
	for w := range workers {
		workers[w].pa = getBuf(mcb * kcb)
	}
	defer func() {
		for w := range workers {
			putBuf(workers[w].pa)
		}
	}()

	for jc := 0; jc < n; jc += ncb {
		nc := min(ncb, n-jc)
		nPanels := ceilDiv(nc, nr)
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			// Pack B in chunks of 8 micro-panels.
			const packChunk = 8
			parallelDo(threads, ceilDiv(nPanels, packChunk), func(_, u int) {
				for jp := u * packChunk; jp < min(nPanels, (u+1)*packChunk); jp++ {
					packB(pb[jp*nr*kc:(jp+1)*nr*kc], b, ldb, transB, pc, kc, jc+jp*nr, min(nr, nc-jp*nr), nr)
				}
			})

			betaEff, load := beta, 1
			if pc > 0 {
				betaEff = 1
			} else if beta == 0 {
				load = 0
			}
			// Units: row blocks × column splits; split columns when there are too few row blocks to keep
			// every worker busy (and balanced when one core is slowed by other load).
			rowBlocks := ceilDiv(m, mcb)
			colSplits := 1
			if threads > 1 && rowBlocks < 4*threads {
				colSplits = max(1, min(ceilDiv(4*threads, rowBlocks), nPanels/2))
			}
			panelsPerSplit := ceilDiv(nPanels, colSplits)
			colSplits = ceilDiv(nPanels, panelsPerSplit)
			for w := range workers {
				workers[w].lastRow = -1
			}
			parallelDo(threads, rowBlocks*colSplits, func(w, u int) {
				ws := &workers[w]
				rb, cs := u/colSplits, u%colSplits
				i0 := rb * mcb
				mc := min(mcb, m-i0)
				pa := ws.pa.data
				if ws.lastRow != rb {
					packA(pa, a, lda, transA, i0, mc, pc, kc, mr)
					ws.lastRow = rb
				}
				jp0 := cs * panelsPerSplit
				jp1 := min(nPanels, jp0+panelsPerSplit)
				for jp := jp0; jp < jp1; jp++ {
					j := jp * nr
					cols := min(nr, nc-j)
					bp := &pb[jp*nr*kc]
					for ip := 0; ip*mr < mc; ip++ {
						i := ip * mr
						rows := min(mr, mc-i)
						ap := &pa[ip*mr*kc]
						if rows == mr && cols == nr {
							kern.fn(kc, ap, bp, &c[(i0+i)*ldc+jc+j], ldc, alpha, betaEff, load)
							continue
						}
						kern.fn(kc, ap, bp, &ws.tmp[0], nr, alpha, 0, 0)
						for r := range rows {
							crow := c[(i0+i+r)*ldc+jc+j : (i0+i+r)*ldc+jc+j+cols]
							trow := ws.tmp[r*nr : r*nr+cols]
							if load == 0 {
								copy(crow, trow)
								continue
							}
							for x := range crow {
								crow[x] = trow[x] + betaEff*crow[x]
							}
						}
					}
				}
			})
		}
	}
}

// packA copies rows [i0, i0+mc) and depth [p0, p0+kc) of op(A) into mr-row micro-panels: panel q holds,
// for each depth step, the mr values A[i0+q·mr+r, p] (zero past the last row).
func packA(dst, a []float32, lda int, transA bool, i0, mc, p0, kc, mr int) {
	for ip := 0; ip*mr < mc; ip++ {
		rows := min(mr, mc-ip*mr)
		panel := dst[ip*mr*kc : (ip+1)*mr*kc]
		if rows < mr {
			clear(panel)
		}
		if transA {
			// op(A)[i, p] = a[p·lda + i]: each depth step is a contiguous run of rows.
			base := p0*lda + i0 + ip*mr
			for p := range kc {
				copy(panel[p*mr:p*mr+rows], a[base+p*lda:base+p*lda+rows])
			}
			continue
		}
		// op(A)[i, p] = a[i·lda + p]: interleave the panel's rows, writing the panel in order (a row at a
		// time with stride mr is ~2× slower: it touches every cache line of the panel mr times).
		row0 := (i0 + ip*mr) * lda
		switch {
		case rows == 6 && mr == 6:
			interleave6(panel, a[row0+p0:], lda, kc)
			continue
		case rows == 12 && mr == 12:
			interleave12(panel, a[row0+p0:], lda, kc)
			continue
		}
		for r := range rows {
			src := a[row0+r*lda+p0 : row0+r*lda+p0+kc]
			scatter(panel[r:], src, mr)
		}
	}
}

// packB copies depth [p0, p0+kc) and columns [j0, j0+cols) of op(B) into one nr-column micro-panel:
// for each depth step, the nr values B[p, j0+c] (zero past the last column).
func packB(dst, b []float32, ldb int, transB bool, p0, kc, j0, cols, nr int) {
	if cols < nr {
		clear(dst)
	}
	if !transB {
		// op(B)[p, j] = b[p·ldb + j]: each depth step is a contiguous run of columns.
		base := p0*ldb + j0
		for p := range kc {
			copy(dst[p*nr:p*nr+cols], b[base+p*ldb:base+p*ldb+cols])
		}
		return
	}
	// op(B)[p, j] = b[j·ldb + p]: interleave the panel's columns in write order (AVX2's 16), else
	// gather one column at a time with stride nr.
	if cols == 16 && nr == 16 {
		interleave16(dst, b[j0*ldb+p0:], ldb, kc)
		return
	}
	for cc := range cols {
		src := b[(j0+cc)*ldb+p0 : (j0+cc)*ldb+p0+kc]
		scatter(dst[cc:], src, nr)
	}
}

// interleave6 writes dst[6p+r] = a[r·lda+p] for r < 6, p < kc (AVX2 micro-kernel panels).
func interleave6(dst, a []float32, lda, kc int) {
	r0, r1, r2 := a[:kc], a[lda:lda+kc], a[2*lda:2*lda+kc]
	r3, r4, r5 := a[3*lda:3*lda+kc], a[4*lda:4*lda+kc], a[5*lda:5*lda+kc]
	dst = dst[:6*kc]
	for p := range kc {
		d := dst[6*p : 6*p+6 : 6*p+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// interleave12 writes dst[12p+r] = a[r·lda+p] for r < 12, p < kc (AVX-512 micro-kernel panels; the
// attention kernel packs its score tiles this way for every key block).
func interleave12(dst, a []float32, lda, kc int) {
	r0, r1, r2 := a[:kc], a[lda:lda+kc], a[2*lda:2*lda+kc]
	r3, r4, r5 := a[3*lda:3*lda+kc], a[4*lda:4*lda+kc], a[5*lda:5*lda+kc]
	r6, r7, r8 := a[6*lda:6*lda+kc], a[7*lda:7*lda+kc], a[8*lda:8*lda+kc]
	r9, r10, r11 := a[9*lda:9*lda+kc], a[10*lda:10*lda+kc], a[11*lda:11*lda+kc]
	dst = dst[:12*kc]
	for p := range kc {
		d := dst[12*p : 12*p+12 : 12*p+12]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		d[6], d[7], d[8], d[9], d[10], d[11] = r6[p], r7[p], r8[p], r9[p], r10[p], r11[p]
	}
}

// interleave16 writes dst[16p+r] = a[r·lda+p] for r < 16, p < kc (AVX2 micro-kernel B panels).
func interleave16(dst, a []float32, lda, kc int) {
	var rows [16][]float32
	for r := range rows {
		rows[r] = a[r*lda : r*lda+kc]
	}
	dst = dst[:16*kc]
	for p := range kc {
		d := dst[16*p : 16*p+16 : 16*p+16]
		for r := range d {
			d[r] = rows[r][p]
		}
	}
}

// scatter writes dst[i·stride] = src[i].
func scatter(dst, src []float32, stride int) {
	if len(src) == 0 {
		return
	}
	_ = dst[(len(src)-1)*stride]
	d := unsafe.Pointer(&dst[0])
	for i, v := range src {
		*(*float32)(unsafe.Add(d, uintptr(i*stride)*4)) = v
	}
}

// parallelDo runs f(worker, unit) for every unit in [0, units) on up to threads goroutines (the caller's
// included), handing out units dynamically so a worker slowed by other load does less of them.
func parallelDo(threads, units int, f func(w, u int)) {
	threads = min(threads, units)
	if threads <= 1 {
		for u := range units {
			f(0, u)
		}
		return
	}
	var next atomic.Int64
	run := func(w int) {
		for {
			u := int(next.Add(1) - 1)
			if u >= units {
				return
			}
			f(w, u)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}

// buffer is a pooled, 64-byte aligned scratch slice.
type buffer struct {
	raw  []float32
	data []float32
}

var bufPool sync.Pool

// getBuf returns a pooled buffer with len(data) == n, aligned to 64 bytes; contents are arbitrary.
func getBuf(n int) *buffer {
	bb, _ := bufPool.Get().(*buffer)
	if bb == nil || cap(bb.raw) < n+16 {
		bb = &buffer{raw: make([]float32, n+16)}
	}
	raw := bb.raw[:cap(bb.raw)]
	off := 0
	if mis := uintptr(unsafe.Pointer(&raw[0])) % 64; mis != 0 {
		off = int(64-mis) / 4
	}
	bb.data = raw[off : off+n]
	return bb
}

func putBuf(bb *buffer) { bufPool.Put(bb) }
