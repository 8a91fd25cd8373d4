package llmtoken

import (
	"container/heap"
	"math"
)

const noRank = math.MaxInt

// bpeScratch holds buffers reused across the pieces of one Count call.
type bpeScratch struct {
	starts []int
	ranks  []int
	next   []int
	prev   []int
	h      pairHeap
}

// bpeCount returns how many tokens byte-pair encoding leaves of piece: the
// lowest-ranked adjacent pair is merged first (leftmost on ties), until no
// adjacent pair is a token. This is tiktoken's algorithm; long pieces use a
// heap so that a huge run of letters costs O(n log n), not O(n²).
func (c *Counter) bpeCount(piece string, sc *bpeScratch) int {
	if len(piece) <= 1 {
		return len(piece)
	}
	if len(piece) <= 128 {
		return c.bpeSmall(piece, sc)
	}
	return c.bpeHeap(piece, sc)
}

func (c *Counter) rank(s string) int {
	if r, ok := c.ranks[s]; ok {
		return r
	}
	return noRank
}

// bpeSmall is tiktoken's byte_pair_merge: parts as start offsets, each
// with the rank of it merged with the next part.
func (c *Counter) bpeSmall(p string, sc *bpeScratch) int {
	n := len(p)
	starts := grow(sc.starts, n+1)
	ranks := grow(sc.ranks, n+1)
	for i := 0; i <= n; i++ {
		starts[i] = i
		ranks[i] = noRank
	}
	// rank of the pair starting at part i (parts i and i+1)
	pairRank := func(i int) int {
		if i+2 < len(starts) {
			return c.rank(p[starts[i]:starts[i+2]])
		}
		return noRank
	}
	for i := 0; i+2 < len(starts); i++ {
		ranks[i] = pairRank(i)
	}
	for {
		best, at := noRank, -1
		for i := 0; i+1 < len(starts); i++ {
			if ranks[i] < best {
				best, at = ranks[i], i
			}
		}
		if at < 0 {
			break
		}
		// merge parts at and at+1
		starts = append(starts[:at+1], starts[at+2:]...)
		ranks = append(ranks[:at+1], ranks[at+2:]...)
		ranks[at] = pairRank(at)
		if at > 0 {
			ranks[at-1] = pairRank(at - 1)
		}
	}
	sc.starts, sc.ranks = starts, ranks
	return len(starts) - 1
}

// grow returns s resized to n, reusing its array when it is big enough.
func grow(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n, 2*n)
	}
	return s[:n]
}

type pair struct {
	rank, pos int
	left      int // the left part's index
	stamp     int // the left part's stamp when pushed
}

// pairHeap orders candidate merges by rank, then position (container/heap).
type pairHeap []pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pair)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpeHeap is the same merge order over a linked list of parts with a heap
// of candidate pairs; stale entries are skipped by their stamp.
func (c *Counter) bpeHeap(p string, sc *bpeScratch) int {
	n := len(p)
	next := grow(sc.next, n)
	prev := grow(sc.prev, n)
	stamp := grow(sc.starts, n) // reuse as stamps
	clear(stamp)
	for i := 0; i < n; i++ {
		next[i] = i + 1 // n means none
		prev[i] = i - 1
	}
	end := func(i int) int { // end offset of part i
		return next[i]
	}
	h := sc.h[:0]
	push := func(i int) {
		j := next[i]
		if j >= n {
			return
		}
		if r := c.rank(p[i:end(j)]); r != noRank {
			heap.Push(&h, pair{rank: r, pos: i, left: i, stamp: stamp[i]})
		}
	}
	for i := 0; i < n-1; i++ {
		push(i)
	}
	parts := n
	for h.Len() > 0 {
		top := heap.Pop(&h).(pair)
		i := top.left
		if stamp[i] != top.stamp || stamp[i] < 0 {
			continue
		}
		j := next[i]
		if j >= n || stamp[j] < 0 {
			continue
		}
		// merge j into i
		next[i] = next[j]
		if next[j] < n {
			prev[next[j]] = i
		}
		stamp[j] = -1
		stamp[i]++
		parts--
		push(i)
		if k := prev[i]; k >= 0 {
			stamp[k]++
			push(k)
		}
	}
	sc.next, sc.prev, sc.starts, sc.h = next, prev, stamp, h
	return parts
}
