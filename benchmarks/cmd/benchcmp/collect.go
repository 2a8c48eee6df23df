package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// Options are what one invocation measures.
type Options struct {
	Repo      string   // the repository's root
	Rounds    int      // rounds per run, at least 1
	Benchtime string   // -test.benchtime of every member that sets none
	Seed      uint64   // the order's random seed
	Loads     []string // the runs, in order: "idle", "busy"
	Burners   int      // CPU burners of a busy run
	Out       string   // the directory of the raw file
}

// Collect measures groups once per run of o.Loads and returns the path of
// the raw file it wrote.
func Collect(ctx context.Context, o Options, groups []Group, log io.Writer) (string, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", err
	}
	bins, err := os.MkdirTemp("", "benchcmp")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(bins)
	r := &Runner{Repo: o.Repo, Benchtime: o.Benchtime, Log: log}
	if err := r.Build(ctx, groups, bins); err != nil {
		return "", err
	}
	path := filepath.Join(o.Out, time.Now().UTC().Format("20060102-150405")+".txt")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := newRawWriter(f)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed))
	for _, load := range o.Loads {
		if err := collectRun(ctx, r, o, load, groups, rng, w); err != nil {
			return "", errors.Join(err, f.Close())
		}
	}
	return path, f.Close()
}

// collectRun measures one run: its metadata, a burner for the duration of
// a busy run, the rounds, and the load the rest of the machine put on it.
func collectRun(ctx context.Context, r *Runner, o Options, load string, groups []Group, rng *rand.Rand, w *rawWriter) error {
	burners := 0
	if load == "busy" {
		burners = o.Burners
	}
	w.Config("run", load)
	for _, kv := range [][2]string{
		{"date", time.Now().UTC().Format("2006-01-02 15:04 UTC")},
		{"cpu", machineCPU()}, {"ncpu", strconv.Itoa(runtime.NumCPU())},
		{"goos", runtime.GOOS}, {"goarch", runtime.GOARCH}, {"go", runtime.Version()},
		{"rounds", strconv.Itoa(o.Rounds)}, {"benchtime", o.Benchtime},
		{"seed", strconv.FormatUint(o.Seed, 10)}, {"burners", strconv.Itoa(burners)},
	} {
		w.Config(kv[0], kv[1])
	}
	l := startLoad()
	stop, err := startBurners(burners)
	if err != nil {
		return err
	}
	err = r.RunRounds(ctx, load, o.Rounds, groups, rng, w)
	// The burners end before the load is read: their CPU time counts as
	// this command's only once they have been waited for.
	err = errors.Join(err, stop())
	meta := l.Stop()
	for _, k := range sortedKeys(meta) {
		w.Config(k, meta[k])
	}
	return errors.Join(err, w.Err())
}

// startBurners starts n burners and returns a function that stops them.
func startBurners(n int) (stop func() error, err error) {
	var bs []*Burner
	stop = func() error {
		var errs []error
		for _, b := range bs {
			errs = append(errs, b.Stop())
		}
		return errors.Join(errs...)
	}
	if n == 0 {
		return stop, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	for range n {
		b, err := startBurner(exe)
		if err != nil {
			return nil, errors.Join(err, stop())
		}
		bs = append(bs, b)
	}
	return stop, nil
}
