package sgemm

// gemvRow computes the single output row C[0, :n] = alpha·op(A)[0, :]·op(B) + beta·C[0, :] (m == 1).
func (p plan) gemvRow(transA, transB bool, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32) {
	x := a[:k]
	if transA {
		// op(A)[0, q] = a[q·lda]: gather the strided row.
		buf := getBuf(k)
		defer putBuf(buf)
		x = buf.data
		for q := range x {
			x[q] = a[q*lda]
		}
	}
	if transB {
		// op(B)[q, j] = b[j·ldb + q]: C[0, j] is the dot product of row j of b with x.
		p.gemvN(n, k, alpha, b, ldb, x, beta, c, 1)
		return
	}
	// op(B)[q, j] = b[q·ldb + j]: C[0, :] is a combination of the rows of b.
	p.gemvT(k, n, alpha, b, ldb, x, beta, c[:n])
}

// gemvCol computes the single output column C[:m, 0] = alpha·op(A)·op(B)[:, 0] + beta·C[:m, 0] (n == 1).
func (p plan) gemvCol(transA, transB bool, m, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	x := b[:k]
	if !transB {
		// op(B)[q, 0] = b[q·ldb]: gather the strided column.
		buf := getBuf(k)
		defer putBuf(buf)
		x = buf.data
		for q := range x {
			x[q] = b[q*ldb]
		}
	}
	if !transA {
		p.gemvN(m, k, alpha, a, lda, x, beta, c, ldc)
		return
	}
	// op(A)[i, q] = a[q·lda + i]: the column is a combination of the rows of a.
	if ldc == 1 {
		p.gemvT(k, m, alpha, a, lda, x, beta, c[:m])
		return
	}
	buf := getBuf(m)
	defer putBuf(buf)
	y := buf.data
	if beta != 0 {
		for i := range y {
			y[i] = c[i*ldc]
		}
	}
	p.gemvT(k, m, alpha, a, lda, x, beta, y)
	for i, v := range y {
		c[i*ldc] = v
	}
}

// gemvN computes y[i·incy] = alpha·(A[i, :k]·x) + beta·y[i·incy] for i < rows, A row-major with stride lda.
func (p plan) gemvN(rows, k int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32,
	incy int) {
	v := p.v
	kv := k - k%v.step
	threads := max(1, p.threads)
	chunk := max(64, roundUp(ceilDiv(rows, 4*threads), 4))
	store := func(i int, s float32) {
		if beta == 0 {
			y[i*incy] = alpha * s
		} else {
			y[i*incy] = alpha*s + beta*y[i*incy]
		}
	}
	tail := func(i int, s float32) float32 {
		row := a[i*lda : i*lda+k]
		for q := kv; q < k; q++ {
			s += row[q] * x[q]
		}
		return s
	}
	parallelDo(threads, ceilDiv(rows, chunk), func(_, u int) {
		r0, r1 := u*chunk, min(rows, (u+1)*chunk)
		i := r0
		for ; i+4 <= r1; i += 4 {
			var out [4]float32
			if kv > 0 {
				v.dot4(kv, &a[i*lda], lda, &x[0], &out)
			}
			for q := range 4 {
				store(i+q, tail(i+q, out[q]))
			}
		}
		for ; i < r1; i++ {
			var s float32
			if kv > 0 {
				s = v.dot1(kv, &a[i*lda], &x[0])
			}
			store(i, tail(i, s))
		}
	})
}

// gemvT computes y = alpha·Σ_q x[q]·A[q, :n] + beta·y for A row-major (rows × n, stride lda), with y
// contiguous of length n.
func (p plan) gemvT(rows, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	v := p.v
	threads := max(1, p.threads)
	// Column chunks of ≤2048 keep the slice of y being accumulated in L1.
	chunk := min(2048, max(256, roundUp(ceilDiv(n, 4*threads), 8)))
	parallelDo(threads, ceilDiv(n, chunk), func(_, u int) {
		j0, j1 := u*chunk, min(n, (u+1)*chunk)
		w := j1 - j0
		ys := y[j0:j1]
		scaleMatrix(1, w, beta, ys, w)
		wv := w - w%v.step
		q := 0
		for ; q+4 <= rows; q += 4 {
			al := [4]float32{alpha * x[q], alpha * x[q+1], alpha * x[q+2], alpha * x[q+3]}
			if wv > 0 {
				v.axpy4(wv, &al, &a[q*lda+j0], lda, &ys[0])
			}
			for j := wv; j < w; j++ {
				ys[j] += al[0]*a[q*lda+j0+j] + al[1]*a[(q+1)*lda+j0+j] + al[2]*a[(q+2)*lda+j0+j] + al[3]*a[(q+3)*lda+j0+j]
			}
		}
		for ; q < rows; q++ {
			al := alpha * x[q]
			if wv > 0 {
				v.axpy1(wv, al, &a[q*lda+j0], &ys[0])
			}
			for j := wv; j < w; j++ {
				ys[j] += al * a[q*lda+j0+j]
			}
		}
	})
}

// fewRows is the most rows of A that gemvRows serves: a decoding step's few tokens against a weight
// matrix stored as op(B) = Bᵀ. The blocked path would pack (transpose) all of B for them, which
// costs as much as the product itself.
const fewRows = 8

// gemvRows computes C = alpha·A·Bᵀ + beta·C for m ≤ fewRows rows of A (row-major, stride lda) and B
// stored n × k (row stride ldb): each block of four rows of B is read once, from memory, and dotted
// with every row of A (which stay in L1). Row i of C is summed as the one-row GEMV sums row i of A alone
// (the same kernels on the same blocks of B), so a decoding step's rows do not depend on each other.
func (p plan) gemvRows(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32,
	c []float32, ldc int) {
	v := p.v
	kv := k - k%v.step
	threads := max(1, p.threads)
	chunk := max(64, roundUp(ceilDiv(n, 4*threads), 4))
	store := func(i, j int, s float32) {
		for q := kv; q < k; q++ {
			s += b[j*ldb+q] * a[i*lda+q]
		}
		if beta == 0 {
			c[i*ldc+j] = alpha * s
		} else {
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
	parallelDo(threads, ceilDiv(n, chunk), func(_, u int) {
		j0, j1 := u*chunk, min(n, (u+1)*chunk)
		j := j0
		for ; j+4 <= j1; j += 4 {
			for i := range m {
				var out [4]float32
				if kv > 0 {
					v.dot4(kv, &b[j*ldb], ldb, &a[i*lda], &out)
				}
				for q := range 4 {
					store(i, j+q, out[q])
				}
			}
		}
		for ; j < j1; j++ {
			for i := range m {
				var s float32
				if kv > 0 {
					s = v.dot1(kv, &b[j*ldb], &a[i*lda])
				}
				store(i, j, s)
			}
		}
	})
}
