package main

import (
	"fmt"
	"io"
)

// printSimHelp writes retry sim -h.
func printSimHelp(w io.Writer) {
	fmt.Fprint(w, simSynopsis+`

Simulates a fleet of clients retrying with the policy the flags describe
(the library's real decisions, in virtual time) against a dependency that
fails, and reports what the dependency saw: offered and served load,
amplification, goodput, success rate, latency, the herd at recovery, and
the time to recover. Each -budget entry is one run; the runs are shown side
by side. The same -seed gives the same output, byte for byte.

Scenarios:
  open    open-loop load on a queueing server; the trigger stalls, slows
          or rejects it for -outage from -outage-start (metastability)
  herd    -clients clients fail together during -outage, then meet a
          server admitting -rate per second (jitter and Retry-After)
  occ     Brooker's 2015 contention benchmark (the calibration)
  layers  -layers layers retrying on top of each other (A^L): -requests
          caller requests arriving -rate per second
  sweep   open, over -magnitudes x -lengths of a slow trigger: where the
          policy recovers and where it stays down (-svg draws the map)

Flags:
`)
	fs := newSimFlagSet(defaultSimConfig())
	fs.SetOutput(w)
	fs.PrintDefaults()
}
