package bge

import (
	"sync"
	"sync/atomic"
)

// workerPool runs data-parallel loops on a fixed set of goroutines, started
// once per Model: no goroutine is created per call. One loop runs at a time
// (concurrent callers take turns loop by loop), so worker w's scratch
// buffers belong to it alone for the duration of a loop. The calling
// goroutine works as worker 0.
type workerPool struct {
	mu      sync.Mutex
	helpers []chan struct{}

	// The current loop, set under mu before the helpers are woken.
	fn   func(w, i int)
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func newWorkerPool(workers int) *workerPool {
	p := &workerPool{helpers: make([]chan struct{}, workers-1)}
	for h := range p.helpers {
		ch := make(chan struct{})
		p.helpers[h] = ch
		go p.helper(h+1, ch)
	}
	return p
}

func (p *workerPool) workers() int { return len(p.helpers) + 1 }

func (p *workerPool) helper(w int, wake chan struct{}) {
	for range wake {
		p.loop(w)
		p.wg.Done()
	}
}

func (p *workerPool) loop(w int) {
	for {
		i := p.next.Add(1) - 1
		if i >= p.n {
			return
		}
		p.fn(w, int(i))
	}
}

// run calls fn(w, i) for every i in [0, n), spread over the workers; w is
// the worker's index in [0, workers()). It returns when all calls are done.
func (p *workerPool) run(n int, fn func(w, i int)) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == 1 || len(p.helpers) == 0 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	p.fn, p.n = fn, int64(n)
	p.next.Store(0)
	h := min(len(p.helpers), n-1)
	p.wg.Add(h)
	for _, ch := range p.helpers[:h] {
		ch <- struct{}{}
	}
	p.loop(0)
	p.wg.Wait()
	p.fn = nil
}

// close stops the helpers. The pool must not be used afterwards.
func (p *workerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ch := range p.helpers {
		close(ch)
	}
	p.helpers = nil
}
