package envelope

import "hash"

// asyncHash feeds a hash on its own goroutine, so that hashing runs on
// another core while the caller encrypts the same bytes. Feed hands over a
// slice; Wait returns once the hash has consumed it, after which the caller
// may reuse the slice.
type asyncHash struct {
	h    hash.Hash
	in   chan []byte
	done chan struct{}
	busy bool
}

// minAsync is the smallest slice worth a hand-over; smaller ones are
// hashed inline.
const minAsync = 4096

func newAsyncHash(h hash.Hash) *asyncHash {
	a := &asyncHash{h: h, in: make(chan []byte), done: make(chan struct{})}
	go func() {
		for b := range a.in {
			a.h.Write(b)
			a.done <- struct{}{}
		}
		close(a.done)
	}()
	return a
}

// Feed starts hashing b (or hashes it inline if small).
func (a *asyncHash) Feed(b []byte) {
	if len(b) < minAsync {
		a.h.Write(b)
		return
	}
	a.in <- b
	a.busy = true
}

// Wait blocks until the last Feed is hashed.
func (a *asyncHash) Wait() {
	if a.busy {
		<-a.done
		a.busy = false
	}
}

// Sum waits, stops the goroutine and returns the hash.
func (a *asyncHash) Sum() hash.Hash {
	a.Wait()
	close(a.in)
	<-a.done
	return a.h
}

// Stop ends the goroutine without a result (error paths).
func (a *asyncHash) Stop() {
	a.Wait()
	close(a.in)
	<-a.done
}
