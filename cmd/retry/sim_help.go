package main

import (
	"fmt"
	"io"

	"github.com/retrykit/retry/sim"
)

// printSimHelp writes retry sim -h.
func printSimHelp(w io.Writer) {
	fmt.Fprintf(w, simSynopsis+`

Simulates a fleet of clients retrying with the policy the flags describe
(the library's real decisions, in virtual time) against a dependency that
fails, and reports what the dependency saw: offered and served load,
amplification, goodput, success rate, latency, the herd at recovery, and
the time to recover (n/a where there is nothing to measure: no success, or
nothing left to recover). Each -budget entry is one run; the runs are shown
side by side. The same -seed gives the same output, byte for byte. Charts
go to a file: -svg FILE. A run is bounded (at most %d clients, a queue
of %d, %d events in flight, %d time buckets, -max-events
events); past a bound retry sim says which flag to change.

Scenarios:
  open    open-loop load on a queueing server; the trigger stalls, slows
          or rejects it for -outage from -outage-start (metastability)
  herd    -clients clients fail together during -outage, then meet a
          server admitting -rate per second (jitter and Retry-After);
          unless set: -clients 1000 -outage 4s -rate 1000 -hop 10ms, and
          clients that retry until served, -attempts 0 -max-delay 5s
          (with 4 attempts every client gives up during the outage)
  occ     Brooker's 2015 contention benchmark (the calibration)
  layers  -layers layers retrying on top of each other (A^L): -requests
          caller requests arriving -rate per second
  sweep   open, over -magnitudes x -lengths of a slow trigger: where the
          policy recovers and where it stays down (-svg draws the map)
  tail    Dean and Barroso's latency tail: -requests user requests, -rate
          per second, each fanning out to -fan-out calls on -workers
          workers; service times lognormal (-median, -sigma) with
          -stragglers of them -slow-min to -slow-max times slower; one run
          per -hedge entry and -budget entry (a hedge costs what a retry
          costs). -outage makes a brownout from -outage-start (default
          40s) in which every attempt takes -slowdown times longer.
          Unless set: -requests 20000 -rate 125 -workers 100 -hop 0;
          -svg draws latency bars and the load over time

Flags:
`, sim.MaxClients, sim.MaxQueue, sim.MaxPending, sim.MaxBuckets)
	fs := newSimFlagSet(defaultSimConfig())
	fs.SetOutput(w)
	fs.PrintDefaults()
}
