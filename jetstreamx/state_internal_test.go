package jetstreamx

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// FuzzDecodeState: whatever the bucket holds, decoding it never panics;
// what it accepts has a delivery count of at least 1 and a valid progress,
// and encodes back to a state that decodes to the same.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"progress":{"attempts":2,"start":"2026-12-01T09:00:00Z","prev":400000000},"next_delivery":3,"published":"2026-12-01T08:59:59Z"}`))
	f.Add([]byte(`{"progress":{"attempts":-3},"next_delivery":2}`))
	f.Add([]byte(`{"next_delivery":0}`))
	f.Add([]byte(`{"stopped":"x","reason":"permanent","next_delivery":1,"due":"2026-12-01T09:00:01Z"}`))
	f.Add([]byte(`garbage`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, st.Next, uint64(1))
		require.GreaterOrEqual(t, st.Progress.Attempts, 0)
		require.Less(t, st.Progress.Attempts, math.MaxInt)
		require.GreaterOrEqual(t, st.Progress.Prev, time.Duration(0))
		again, err := json.Marshal(st)
		require.NoError(t, err)
		back, err := decodeState(again)
		require.NoError(t, err)
		require.Equal(t, st.Next, back.Next)
		require.Equal(t, st.Progress.Attempts, back.Progress.Attempts)
		require.True(t, st.Progress.Start.Equal(back.Progress.Start))
	})
}

// FuzzAtLeast: any version string is read without a panic, and a version
// compares with itself as at least itself.
func FuzzAtLeast(f *testing.F) {
	for _, v := range []string{"2.9.10", "2.10.4", "2.11.0-RC.1", "", "x.y.z", "2.10", "99999999999999999999.0.0"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_ = atLeast(v, 2, 10, 4)
	})
}

func TestAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"2.9.10": false, "2.10.3": false, "2.10.4": true, "2.10.22": true, "2.11.0-RC.1": true, "3.0.0": true,
		"1.99.99": false, "": false, "2.10": false, "garbage": false,
	} {
		assert.Equal(t, want, atLeast(v, 2, 10, 4), v)
	}
}

// validKey is what a key-value bucket accepts as a key.
var validKey = regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`)

// StateKey makes a valid key of any stream and consumer name, and distinct
// messages get distinct keys.
func TestStateKeyProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s1, c1 := rapid.String().Draw(t, "stream"), rapid.String().Draw(t, "consumer")
		s2, c2 := rapid.String().Draw(t, "stream2"), rapid.String().Draw(t, "consumer2")
		q1, q2 := rapid.Uint64().Draw(t, "seq"), rapid.Uint64().Draw(t, "seq2")
		k1, k2 := StateKey(s1, c1, q1), StateKey(s2, c2, q2)
		if !validKey.MatchString(k1) || strings.HasPrefix(k1, ".") || strings.HasSuffix(k1, ".") {
			t.Fatalf("invalid key %q", k1)
		}
		if (k1 == k2) != (s1 == s2 && c1 == c2 && q1 == q2) {
			t.Fatalf("keys %q and %q for (%q %q %d) and (%q %q %d)", k1, k2, s1, c1, q1, s2, c2, q2)
		}
	})
	assert.Equal(t, "ORDERS.charge.42", StateKey("ORDERS", "charge", 42))
	assert.Equal(t, "A=3DB.c=40d.7", StateKey("A=B", "c@d", 7))
}
