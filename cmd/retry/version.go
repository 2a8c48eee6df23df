package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// printVersion writes what retry -version says: the module version and
// the VCS revision the binary was built from.
func printVersion(w io.Writer) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(w, "retry: no build information in this binary")
		return
	}
	fmt.Fprint(w, versionText(info))
}

// versionText formats the build information of retry -version:
//
//	retry (devel)
//	module   github.com/retrykit/retry
//	revision 8eaac5c4e7b1… (2026-05-01T10:00:00Z, with uncommitted changes)
//	go       go1.26.1
//
// A module version is a pseudo-version (v0.0.0-DATE-REVISION) for a build
// in a clone with VCS stamping (Go 1.24 and later), (devel) without it, or a version such as v1.2.0 for go
// install github.com/retrykit/retry/cmd/retry@v1.2.0. The revision comes
// from the VCS stamp of a build in a clone; without one (go run, or
// -buildvcs=false), it says so.
func versionText(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" {
		version = "(unknown)"
	}
	revision := "unknown: built without VCS information (go run, or -buildvcs=false)"
	if rev := settings["vcs.revision"]; rev != "" {
		revision = rev
		var detail []string
		if t := settings["vcs.time"]; t != "" {
			detail = append(detail, t)
		}
		if settings["vcs.modified"] == "true" {
			detail = append(detail, "with uncommitted changes")
		}
		if len(detail) > 0 {
			revision += " (" + strings.Join(detail, ", ") + ")"
		}
	}
	return fmt.Sprintf("retry %s\nmodule   %s\nrevision %s\ngo       %s\n", version, info.Main.Path, revision, info.GoVersion)
}
