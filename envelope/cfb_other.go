//go:build !amd64 || purego

package envelope

// fastCFB has no assembly on this platform: the portable loop runs.
type fastCFB struct{}

func newFastCFB(key []byte) *fastCFB { return nil }

func (f *fastCFB) blocks(ks *[16]byte, dst, src []byte) int { return 0 }
