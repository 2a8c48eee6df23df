package retry

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProgressRoundTrips(t *testing.T) {
	pr := Progress{Attempts: 3, Start: time.Date(2026, 11, 30, 7, 15, 0, 123, time.UTC), Prev: 1500 * time.Millisecond}
	pr.ticket, pr.held = 42, true // the admission of a running attempt is not kept
	pr.adm, pr.gen = new(admission), 1

	b, err := pr.MarshalBinary()
	require.NoError(t, err)
	var back Progress
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, Progress{Attempts: 3, Start: pr.Start, Prev: pr.Prev}, back)

	j, err := json.Marshal(pr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"attempts":3,"start":"2026-11-30T07:15:00.000000123Z","prev":1500000000}`, string(j))
	var fromJSON Progress
	require.NoError(t, json.Unmarshal(j, &fromJSON))
	assert.Equal(t, back, fromJSON)

	var zero Progress
	b, err = zero.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, zero, back)
}

func TestProgressUnmarshalBinaryRejects(t *testing.T) {
	good, err := Progress{Attempts: 2, Prev: time.Second}.MarshalBinary()
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"empty":            nil,
		"wrong version":    append([]byte{9}, good[1:]...),
		"truncated count":  {progressVersion, 0x80},
		"negative count":   {progressVersion, 0x01, 0x00},
		"truncated wait":   {progressVersion, 0x02},
		"negative wait":    {progressVersion, 0x02, 0x03},
		"no time":          good[:3],
		"time cut in half": good[:len(good)-3],
	} {
		t.Run(name, func(t *testing.T) {
			pr := Progress{Attempts: 7}
			assert.Error(t, pr.UnmarshalBinary(b))
			assert.Equal(t, Progress{Attempts: 7}, pr, "left unchanged")
		})
	}
}

// progressV1 is pr in the binary form of the previous release (version 1,
// without the sum of the waits).
func progressV1(t testing.TB, pr Progress) []byte {
	tb, err := pr.Start.MarshalBinary()
	require.NoError(t, err)
	b := binary.AppendVarint(binary.AppendVarint([]byte{1}, int64(pr.Attempts)), int64(pr.Prev))
	return append(b, tb...)
}

// TestProgressWaitedRoundTrips: the sum of the waits survives both forms,
// the previous binary version still reads (with no sum), and a negative
// sum is refused.
func TestProgressWaitedRoundTrips(t *testing.T) {
	pr := Progress{Attempts: 3, Start: time.Unix(5, 6).UTC(), Prev: time.Second, waited: 3 * time.Second}
	b, err := pr.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, byte(2), b[0])
	var back Progress
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, pr, back)
	j, err := json.Marshal(pr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"attempts":3,"start":"1970-01-01T00:00:05.000000006Z","prev":1000000000,"waited":3000000000}`, string(j))
	back = Progress{}
	require.NoError(t, json.Unmarshal(j, &back))
	assert.Equal(t, pr, back)

	back = Progress{}
	require.NoError(t, back.UnmarshalBinary(progressV1(t, pr)))
	assert.Equal(t, Progress{Attempts: 3, Start: pr.Start, Prev: time.Second}, back, "version 1 has no sum")

	bad := append([]byte{2, 0x06, 0x02, 0x01}, b[4:]...) // waited -1
	assert.ErrorContains(t, back.UnmarshalBinary(bad), "sum of waits")
	assert.Error(t, json.Unmarshal([]byte(`{"attempts":1,"waited":-1}`), &back))
}

func FuzzProgressUnmarshalBinary(f *testing.F) {
	for _, pr := range []Progress{{}, {Attempts: 1, Start: time.Unix(1, 2)}, {Attempts: math.MaxInt32, Prev: maxDuration, waited: maxDuration},
		{Attempts: 1, Start: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, {Attempts: math.MaxInt - 1},
		{Attempts: 4, Start: time.Unix(1, 2), waited: time.Second, hedges: 2}, {Attempts: math.MaxInt - 1, hedges: math.MaxInt32}} {
		b, err := pr.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(progressV1(f, Progress{Attempts: 2, Prev: time.Second, Start: time.Unix(1, 2)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pr Progress
		if pr.UnmarshalBinary(b) != nil {
			return
		}
		if pr.Attempts < 0 || pr.Prev < 0 || pr.waited < 0 || pr.hedges < 0 {
			t.Fatalf("decoded a negative field: %+v", pr)
		}
		again, err := pr.MarshalBinary()
		require.NoError(t, err)
		var back Progress
		require.NoError(t, back.UnmarshalBinary(again))
		require.True(t, back.Start.Equal(pr.Start) && back.Attempts == pr.Attempts && back.Prev == pr.Prev && back.waited == pr.waited && back.hedges == pr.hedges, "%+v != %+v", back, pr)
		engineTakes(t, pr)
	})
}

func FuzzProgressUnmarshalJSON(f *testing.F) {
	for _, in := range []string{`{"attempts":0,"start":"0001-01-01T00:00:00Z","prev":0}`,
		`{"attempts":1,"start":"9999-01-01T00:00:00Z"}`, `{"attempts":3,"start":"2026-01-01T00:00:00Z","prev":1000,"waited":5000}`,
		`{"attempts":9223372036854775806}`, `{"attempts":2,"start":"2026-01-01T00:00:00+14:00"}`,
		`{"attempts":3,"start":"2026-01-01T00:00:00Z","hedges":2}`} {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pr Progress
		if json.Unmarshal(b, &pr) != nil {
			return
		}
		if pr.Attempts < 0 || pr.Prev < 0 || pr.waited < 0 || pr.hedges < 0 {
			t.Fatalf("decoded a negative field: %+v", pr)
		}
		again, err := json.Marshal(pr)
		if err != nil {
			return // a Start outside the years JSON can write (time.Time's own limit)
		}
		var back Progress
		require.NoError(t, json.Unmarshal(again, &back))
		require.True(t, back.Start.Equal(pr.Start) && back.Attempts == pr.Attempts && back.Prev == pr.Prev && back.waited == pr.waited && back.hedges == pr.hedges, "%+v != %+v", back, pr)
		engineTakes(t, pr)
	})
}

// engineTakes drives a decoded Progress through the engine, as a consumer
// does with what it stored: Begin admits its next attempt unless the count
// is at its largest, never with a start after now, whatever Start the
// input held; the elapsed limit holds; the attempt is reported once.
func engineTakes(t *testing.T, pr Progress) {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 1})
	require.NoError(t, err)
	const limit = 10 * time.Second
	p, err := NewPolicy(WithMaxElapsed(limit), WithMaxAttempts(0), WithBreaker(br), WithBudget(bu))
	require.NoError(t, err)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx, next, err := p.Begin(context.Background(), pr, now)
	if pr.Attempts == math.MaxInt-1 {
		require.ErrorIs(t, err, ErrInvalidConfig)
		return
	}
	require.NoError(t, err)
	require.Equal(t, pr.Attempts+1, next.Attempts)
	require.False(t, next.Start.After(now), "start %v after now %v", next.Start, now)
	v := p.Failed(ctx, next, errProp, now)
	if v.Err == nil {
		require.Less(t, now.Add(v.Wait).Sub(v.Next.Start), limit, "a retry whose wait ends past the elapsed limit")
	}
	require.ErrorIs(t, p.Failed(ctx, next, errProp, now).Err, ErrDuplicateReport, "a second report")
	require.Equal(t, BreakerStats{Failures: 1, Opened: 1}, br.Stats(), "one failure recorded")
}

func TestProgressJSONRejectsInvalid(t *testing.T) {
	for _, in := range []string{
		`{"attempts":-100,"start":"2026-01-01T00:00:00Z","prev":0}`,
		`{"attempts":1,"prev":-5}`,
		`{"attempts":9223372036854775807}`,
		`{"attempts":"two"}`,
	} {
		pr := Progress{Attempts: 7}
		assert.Error(t, json.Unmarshal([]byte(in), &pr), in)
		assert.Equal(t, Progress{Attempts: 7}, pr, "unchanged")
	}
	b, err := Progress{Attempts: math.MaxInt}.MarshalBinary()
	require.NoError(t, err)
	assert.Error(t, new(Progress).UnmarshalBinary(b), "a count at its largest could not be incremented")
}
