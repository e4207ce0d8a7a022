package generator

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Git submodules: git reports a bumped submodule as one path (the gitlink),
// never as the files inside it, and a checkout without submodules leaves
// its directory empty. Both would make a target that builds from a
// submodule miss its deploys quietly. Affected counts a changed path as a
// change to everything below it; the scan learns the submodules from
// .gitmodules (https://git-scm.com/docs/gitmodules), so that the generated
// checkouts fetch them when a closure reaches into one, and says when one
// that a target reads is not checked out.

// gitmodulePaths returns the submodule paths .gitmodules at dir declares
// (slash-separated, relative to dir), sorted; none when there is no file.
// Only the "path" keys of [submodule "..."] sections are read.
func gitmodulePaths(fsys filesys.FileSystem, dir string) []string {
	data, err := fsys.ReadFile(filepath.Join(dir, ".gitmodules"))
	if err != nil {
		return nil
	}
	var paths []string
	inSubmodule := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			inSubmodule = strings.HasPrefix(line, "[submodule")
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !inSubmodule || !ok || !strings.EqualFold(strings.TrimSpace(key), "path") {
			continue
		}
		value = strings.TrimSpace(value)
		if uq, err := strconv.Unquote(value); err == nil {
			value = uq
		}
		if p := path.Clean(value); p != "." && !strings.HasPrefix(p, "../") && !path.IsAbs(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

// submodulesRead returns the submodules some target's closure reaches
// into, and a diagnostic for each of those whose directory is empty (not
// checked out: its files are not in any closure, and a change inside it
// would be missed).
func submodulesRead(fsys filesys.FileSystem, dir string, targets []*Target) ([]string, []Diagnostic) {
	var used []string
	var diags []Diagnostic
	for _, sm := range gitmodulePaths(fsys, dir) {
		reader := ""
		for _, t := range targets {
			for _, in := range t.Inputs {
				if in == "**" || in == sm || strings.HasPrefix(in, sm+"/") || strings.HasPrefix(sm, strings.TrimSuffix(in, "**")) && strings.HasSuffix(in, "/**") {
					reader = t.Path
					break
				}
			}
			if reader != "" {
				break
			}
		}
		if reader == "" {
			continue
		}
		used = append(used, sm)
		if names, err := fsys.ReadDir(filepath.Join(dir, filepath.FromSlash(sm))); err != nil || len(names) == 0 {
			diags = append(diags, Diagnostic{Path: sm, Kind: "submodule", Message: fmt.Sprintf(
				"submodule %q is not checked out, but %s builds from it: run git submodule update --init (the generated checkouts fetch submodules)", sm, reader)})
		}
	}
	return used, diags
}
