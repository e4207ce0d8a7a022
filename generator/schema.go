package generator

import _ "embed"

//go:embed config.schema.json
var configSchema []byte

// ConfigSchema returns the JSON Schema (draft-07) of ConfigFile, for
// editors: with the YAML language server (VS Code's YAML extension, and
// editors built on it), a first line such as
//
//	# yaml-language-server: $schema=https://raw.githubusercontent.com/kustomatrix/kustomatrix/main/generator/config.schema.json
//
// gives completion, hover documentation and validation while typing.
// LoadConfig remains the authority: it also checks what a schema cannot
// express (glob syntax, overrides naming one path twice). Draft-07 rather
// than a newer draft because it is the one every editor supports. The
// returned slice is a copy; callers may modify it.
func ConfigSchema() []byte {
	return append([]byte(nil), configSchema...)
}
