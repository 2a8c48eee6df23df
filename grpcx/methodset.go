package grpcx

import "math/bits"

// methodSet is the set of full method names a [Methods] predicate is true
// for: an open-addressing table that a lookup enters by a hash of the
// name's length and of 16 of its bytes (8 from its middle, its last 8),
// so that it reads the name whole only to compare it with the one entry
// it finds (the same string grpc-go passes, when the name was written as
// the same constant, and then not even that). A map hashes every byte of
// the name first, which costs an interceptor most of its own time on a
// call that succeeds at once. It is never modified after it is built, so
// it is safe for concurrent use.
type methodSet struct {
	slots []methodSlot // a power of two long (at least 2), at most half full
	shift uint         // 64 - log2(len(slots)): a hash's top bits index slots
}

// methodSlot is one entry of a methodSet; the empty name (no full method
// name is empty) marks a free slot.
type methodSlot struct {
	hash uint64
	name string
}

// newMethodSet returns the set of names, which must be full method names
// (at least "/s/m", 4 bytes).
func newMethodSet(names []string) *methodSet {
	n := max(2, 1<<bits.Len(uint(2*len(names)))) // > 2·len: at most half full
	s := &methodSet{slots: make([]methodSlot, n), shift: uint(64 - bits.Len(uint(n-1)))}
	for _, m := range names {
		h := methodHash(m)
		i := s.index(h)
		for s.slots[i].name != "" && s.slots[i].name != m {
			i = (i + 1) & (len(s.slots) - 1)
		}
		s.slots[i] = methodSlot{hash: h, name: m}
	}
	return s
}

// index is the slot a hash starts its search at.
func (s *methodSet) index(h uint64) int { return int(h >> s.shift) }

// has reports whether m is in the set. It allocates nothing.
func (s *methodSet) has(m string) bool {
	if len(m) < 4 {
		return false // not a full method name: never in the set
	}
	h := methodHash(m)
	for i := s.index(h); ; i = (i + 1) & (len(s.slots) - 1) {
		e := &s.slots[i]
		if e.name == "" {
			return false
		}
		if e.hash == h && e.name == m {
			return true
		}
	}
}

// methodHash mixes the length of m (at least 4 bytes long) with its last
// 8 bytes and the 8 around its middle (or, shorter than 8, its first
// byte and last 3). Names of one service differ mostly at their end.
func methodHash(m string) uint64 {
	n := len(m)
	var x uint64
	if n >= 8 {
		x = le64(m[n-8:]) ^ bits.RotateLeft64(le64(m[n/2-4:]), 29)
	} else {
		x = uint64(m[0]) | uint64(m[n-3])<<8 | uint64(m[n-2])<<16 | uint64(m[n-1])<<24
	}
	return (x ^ uint64(n)) * 0x9E3779B97F4A7C15 // Fibonacci hashing: the top bits are well mixed
}

// le64 reads the first 8 bytes of s (at least 8 long) as a little-endian
// number; the compiler makes it one load.
func le64(s string) uint64 {
	s = s[:8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
