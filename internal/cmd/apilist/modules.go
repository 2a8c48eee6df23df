package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// module is a Go module of the repository.
type module struct {
	dir  string // relative to the repository root, "." for the root module
	path string // its module path
}

// file is the name of the module's listing: the root module's is
// retry.txt (the last element of its path), a nested module's is its
// directory with "-" for "/" (dbx-pgxx.txt).
func (m module) file() string {
	if m.dir == "." {
		return m.path[strings.LastIndex(m.path, "/")+1:] + ".txt"
	}
	return strings.ReplaceAll(filepath.ToSlash(m.dir), "/", "-") + ".txt"
}

// skipDir reports whether a directory holds no public API: testdata, a
// directory Go ignores (a leading "." or "_"), and internal packages.
func skipDir(name string) bool {
	return name == "testdata" || name == "internal" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// modules returns the modules under root, the root module first.
func modules(root string) ([]module, error) {
	var mods []module
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		path, err := modulePath(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		mods = append(mods, module{dir: rel, path: path})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(mods, func(a, b module) int { return strings.Compare(a.dir, b.dir) }) // "." first
	if len(mods) == 0 || mods[0].dir != "." {
		return nil, fmt.Errorf("no go.mod in %s: run from the repository root", root)
	}
	return mods, nil
}

// modulePath reads the module directive of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no module directive", gomod)
}

// packageDirs returns the directories of m's packages: m's tree without
// the directories of nested modules and those skipDir names.
func packageDirs(root string, m module, mods []module) ([]string, error) {
	nested := map[string]bool{}
	for _, o := range mods {
		if o.dir != m.dir {
			nested[filepath.Join(root, o.dir)] = true
		}
	}
	var dirs []string
	top := filepath.Join(root, m.dir)
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != top && (skipDir(d.Name()) || nested[p]) {
			return filepath.SkipDir
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs, err
}
