package main

import (
	"testing"

	"github.com/retrykit/retry"
)

// FuzzSharedFleet: any -budget entry is either not a shared one, or a
// fleet, or an error; never a panic, and a fleet it returns is valid.
func FuzzSharedFleet(f *testing.F) {
	for _, s := range []string{"shared:ratio", "fleet:ratio+processes=20+lease=1+sync=100ms", "fleet:capacity=10+per-success=0.1",
		"fleet:", "shared:", "fleet:ratio+processes=-1", "fleet:ratio+lease=1e400", "fleet:+++", "ratio", "none"} {
		f.Add(s)
	}
	p, err := retry.NewPolicy()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		fl, ok, err := sharedFleet(entry, p, nil)
		if !ok || err != nil {
			return
		}
		if fl.Policy == nil {
			t.Fatalf("%q: a fleet without a policy", entry)
		}
		if fl.Shared != nil {
			if _, err := retry.NewBudget(fl.Shared.Budget); err != nil {
				t.Fatalf("%q: an invalid shared budget: %v", entry, err)
			}
			if fl.Shared.Processes < 0 || fl.Shared.Lease < 0 || fl.Shared.Sync < 0 {
				t.Fatalf("%q: %+v", entry, *fl.Shared)
			}
		}
	})
}
