// Package templates holds the text/template sources of every file
// kustomatrix generates. It is its own package because //go:embed cannot
// reach outside a package's directory; the generator parses and executes them.
package templates

import "embed"

// FS holds the *.tmpl files. Each template renders one generated file.
//
//go:embed *.tmpl
var FS embed.FS
