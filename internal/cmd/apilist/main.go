// Command apilist records the exported API of every Go module in this
// repository, one listing per module under api/, and checks that the
// listings are current:
//
//	go run ./internal/cmd/apilist          # re-record api/*.txt
//	go run ./internal/cmd/apilist -check   # fail, with a diff, if they are stale
//
// It runs from the repository root (the directory of the root go.mod) and
// reads source files only: no build, no network, the standard library
// alone. CI runs it with -check, so a commit that changes an exported name,
// signature, field, method or constant fails unless it records the change
// (and says what changed and why in CHANGELOG.md).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// dir is where the listings live, relative to the repository root.
const dir = "api"

// recordCommand is the one command that re-records the listings.
const recordCommand = "go run ./internal/cmd/apilist"

func main() {
	check := flag.Bool("check", false, "report a stale listing instead of writing it")
	flag.Parse()
	if err := run(".", *check, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "apilist:", err)
		os.Exit(1)
	}
}

// run lists every module under root and writes the listings to
// root/api, or with check compares them with what is recorded there.
func run(root string, check bool, out io.Writer) error {
	mods, err := modules(root)
	if err != nil {
		return err
	}
	want := map[string]string{} // file name -> listing
	for _, m := range mods {
		text, err := listModule(root, m, mods)
		if err != nil {
			return err
		}
		want[m.file()] = text
	}
	if check {
		return compare(filepath.Join(root, dir), want, out)
	}
	return write(filepath.Join(root, dir), want)
}
