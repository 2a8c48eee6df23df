package main

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUModel returns the first "model name" of /proc/cpuinfo's content r, or
// "" when it has none.
func CPUModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// machineCPU returns this machine's CPU model name, "unknown CPU" when
// /proc/cpuinfo cannot tell.
func machineCPU() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	if m := CPUModel(f); m != "" {
		return m
	}
	return "unknown CPU"
}

// loadAvg returns the three load averages of /proc/loadavg ("0.52 0.40
// 0.31"), "unknown" where there is none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// CPUTimes are cumulative CPU times of the whole machine (every CPU),
// read from the "cpu" line of /proc/stat: Busy is the time this machine's
// processes and kernel ran (user, nice, system, irq, softirq); Steal is the
// time the hypervisor gave to other guests.
type CPUTimes struct {
	Busy, Steal time.Duration
}

// userHz is the unit of /proc/stat: USER_HZ, 100 on every Linux
// architecture Go supports.
const userHz = 100

// ParseProcStat reads the aggregate "cpu" line of /proc/stat's content.
// ok is false when there is none.
func ParseProcStat(r io.Reader) (t CPUTimes, ok bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil || n < 0 {
				return CPUTimes{}, false
			}
			v[i] = n
		}
		// user nice system idle iowait irq softirq steal
		busy := v[0] + v[1] + v[2] + v[5] + v[6]
		tick := time.Second / userHz
		return CPUTimes{Busy: time.Duration(busy) * tick, Steal: time.Duration(v[7]) * tick}, true
	}
	return CPUTimes{}, false
}

// machineCPUTimes reads /proc/stat; ok is false where there is none.
func machineCPUTimes() (CPUTimes, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return CPUTimes{}, false
	}
	defer f.Close()
	return ParseProcStat(f)
}

// ownCPU returns the CPU time used by this process and by its children
// that have ended (the benchmark processes and the burner).
func ownCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// Load measures what the rest of the machine did while a run went on:
// the CPU time every other process used, from /proc/stat's busy time
// minus this process's and its children's, in CPUs on average.
type Load struct {
	start    time.Time
	machine  CPUTimes
	ok       bool
	own      time.Duration
	avgStart string
}

// startLoad starts measuring.
func startLoad() *Load {
	t, ok := machineCPUTimes()
	return &Load{start: time.Now(), machine: t, ok: ok, own: ownCPU(), avgStart: loadAvg()}
}

// Stop returns the configuration lines that describe the load since
// startLoad: load averages at both ends, and the CPUs other processes and
// other guests (steal) used on average.
func (l *Load) Stop() map[string]string {
	wall := time.Since(l.start)
	meta := map[string]string{"load-start": l.avgStart, "load-end": loadAvg(), "duration": wall.Round(time.Second).String()}
	t, ok := machineCPUTimes()
	if !ok || !l.ok || wall <= 0 {
		return meta
	}
	others := (t.Busy - l.machine.Busy) - (ownCPU() - l.own)
	cpus := func(d time.Duration) string {
		return strconv.FormatFloat(max(0, d.Seconds()/wall.Seconds()), 'f', 2, 64)
	}
	meta["others-cpu"] = cpus(others)
	meta["steal-cpu"] = cpus(t.Steal - l.machine.Steal)
	return meta
}
