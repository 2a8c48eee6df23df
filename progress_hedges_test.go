package retry

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProgressHedgesRoundTrips: the count of hedges survives both forms; a
// Progress never hedged keeps the binary form of the previous release
// (version 2, which it reads) and the JSON without "hedges"; versions 1
// and 2 still read (no hedges); a negative or too large count is refused.
func TestProgressHedgesRoundTrips(t *testing.T) {
	pr := Progress{Attempts: 4, Start: time.Unix(5, 6).UTC(), Prev: time.Second, waited: 3 * time.Second, hedges: 2}
	b, err := pr.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, byte(3), b[0])
	var back Progress
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, pr, back)
	j, err := json.Marshal(pr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"attempts":4,"start":"1970-01-01T00:00:05.000000006Z","prev":1000000000,"waited":3000000000,"hedges":2}`, string(j))
	back = Progress{}
	require.NoError(t, json.Unmarshal(j, &back))
	assert.Equal(t, pr, back)

	unhedged := pr
	unhedged.hedges = 0
	b2, err := unhedged.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, byte(2), b2[0], "a call never hedged keeps version 2")
	assert.Equal(t, b2[1:4], b[1:4], "version 3 is version 2 with the count after the sum")
	back = Progress{}
	require.NoError(t, back.UnmarshalBinary(b2))
	assert.Equal(t, unhedged, back)
	j, err = json.Marshal(unhedged)
	require.NoError(t, err)
	assert.NotContains(t, string(j), "hedges")

	back = Progress{}
	require.NoError(t, back.UnmarshalBinary(progressV1(t, pr)))
	assert.Equal(t, Progress{Attempts: 4, Start: pr.Start, Prev: time.Second}, back, "version 1 has no sum, no hedges")

	tb, err := pr.Start.MarshalBinary()
	require.NoError(t, err)
	v3 := func(hedges int64) []byte {
		b := binary.AppendVarint([]byte{3, 0x08, 0x02, 0x02}, hedges)
		return append(b, tb...)
	}
	require.NoError(t, back.UnmarshalBinary(v3(math.MaxInt32)))
	assert.Equal(t, int32(math.MaxInt32), back.hedges)
	for name, bad := range map[string][]byte{
		"negative hedges":  v3(-1),
		"too many hedges":  v3(math.MaxInt32 + 1),
		"truncated hedges": {3, 0x08, 0x02, 0x02, 0x80},
		"version 4":        append([]byte{4}, b[1:]...),
		"version 0":        append([]byte{0}, b[1:]...),
	} {
		t.Run(name, func(t *testing.T) {
			pr := Progress{Attempts: 7}
			assert.Error(t, pr.UnmarshalBinary(bad))
			assert.Equal(t, Progress{Attempts: 7}, pr, "left unchanged")
		})
	}
	assert.Error(t, json.Unmarshal([]byte(`{"attempts":1,"hedges":-1}`), &back))
	assert.Error(t, json.Unmarshal([]byte(`{"attempts":1,"hedges":2147483648}`), &back))
}
