package wfcheck

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// schemaFS holds SchemaStore's schemas (see schemas/SOURCE.md). They are embedded so that checks
// are reproducible and never need the network.
//
//go:embed schemas/github-workflow.json schemas/github-action.json
var schemaFS embed.FS

// Embedded schema file names.
const (
	workflowSchemaFile = "github-workflow.json"
	actionSchemaFile   = "github-action.json"
)

// compiledSchemas is the result of compiling the embedded schemas once per process.
type compiledSchemas struct {
	workflow, action *jsonschema.Schema
}

// loadSchemas compiles the embedded schemas on first use; compiled schemas are safe for
// concurrent validation, so parallel tests share them.
var loadSchemas = sync.OnceValues(func() (*compiledSchemas, error) {
	all, err := compileSchemas(schemaFS, "schemas", []string{workflowSchemaFile, actionSchemaFile})
	if err != nil {
		return nil, err
	}
	return &compiledSchemas{workflow: all[0], action: all[1]}, nil
})

// offlineLoader refuses every URL. The embedded schemas are registered as resources under their
// $id, so any load request means a schema refers to something we do not have; failing loudly is
// better than fetching from the network (unavailable in CI sandboxes, and not reproducible).
type offlineLoader struct{}

// Load implements jsonschema.URLLoader by refusing.
func (offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema reference %q is not embedded in wfcheck and will not be fetched", url)
}

// compileSchemas compiles the named JSON files in dir of fsys (draft-07, registered under their
// $id) and returns them in the same order.
func compileSchemas(fsys fs.FS, dir string, names []string) ([]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(offlineLoader{})
	ids := make([]string, len(names))
	for i, name := range names {
		raw, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("wfcheck: reading embedded schema %q: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("wfcheck: parsing embedded schema %q: %w", name, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("wfcheck: embedded schema %q has no $id", name)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("wfcheck: registering schema %q as %q: %w", name, id, err)
		}
		ids[i] = id
	}
	out := make([]*jsonschema.Schema, len(names))
	for i, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("wfcheck: compiling schema %q: %w", id, err)
		}
		out[i] = sch
	}
	return out, nil
}

// validateDoc validates a parsed YAML document against sch and converts the errors to findings.
func validateDoc(sch *jsonschema.Schema, relPath string, doc *yamlDoc) ([]Finding, error) {
	err := sch.Validate(doc.value)
	if err == nil {
		return nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("wfcheck: validating %q: %w", relPath, err)
	}
	var out []Finding
	for _, is := range schemaIssues(verr) {
		p := doc.lookup(is.ptr)
		out = append(out, Finding{Path: relPath, Line: p.line, Col: p.col, Message: is.msg, Kind: KindSchema})
	}
	return out, nil
}

// schemaIssue is one schema problem: where (JSON pointer into the instance) and what.
type schemaIssue struct {
	ptr   string
	depth int
	msg   string
}

// schemaIssues condenses jsonschema's error tree into findings a human can act on. Leaves become
// issues. For a failed oneOf/anyOf every alternative fails by definition, and reporting them all
// would mostly list irrelevant branches (e.g. "missing uses" for a normal job without runs-on).
// So, in the spirit of Python jsonschema's best_match, only the alternatives whose errors reach
// deepest into the document are kept, then those with the fewest errors; if several still tie,
// they are merged into one issue that lists each of them.
func schemaIssues(e *jsonschema.ValidationError) []schemaIssue {
	if len(e.Causes) == 0 {
		return []schemaIssue{leafIssue(e)}
	}
	_, isOneOf := e.ErrorKind.(*kind.OneOf)
	_, isAnyOf := e.ErrorKind.(*kind.AnyOf)
	if !isOneOf && !isAnyOf {
		var out []schemaIssue
		for _, c := range e.Causes {
			out = append(out, schemaIssues(c)...)
		}
		return out
	}
	var best [][]schemaIssue
	for _, c := range e.Causes {
		branch := schemaIssues(c)
		if len(best) > 0 {
			if r := compareBranches(branch, best[0]); r < 0 {
				continue
			} else if r > 0 {
				best = nil
			}
		}
		best = append(best, branch)
	}
	if len(best) == 1 {
		return best[0]
	}
	return []schemaIssue{mergeAlternatives(e, best, maxDepth(best[0]))}
}

// compareBranches ranks two failed alternatives: positive if a is the better explanation (its
// errors reach deeper, or equally deep with fewer errors), negative if b is, zero on a tie.
func compareBranches(a, b []schemaIssue) int {
	if c := cmp.Compare(maxDepth(a), maxDepth(b)); c != 0 {
		return c
	}
	return cmp.Compare(len(b), len(a))
}

// leafIssue converts an error without causes. For unexpected properties its position is the
// first offending key rather than the enclosing object, because that is where the fix is needed.
func leafIssue(e *jsonschema.ValidationError) schemaIssue {
	tokens := e.InstanceLocation
	if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
		tokens = append(append([]string(nil), tokens...), ap.Properties[0])
	}
	// depth stays that of the object: an unexpected key is not "deeper" than a missing one.
	return schemaIssue{ptr: pointer(tokens), depth: len(e.InstanceLocation), msg: e.Error()}
}

// maxDepth returns the deepest instance location among issues.
func maxDepth(issues []schemaIssue) int {
	d := 0
	for _, is := range issues {
		d = max(d, is.depth)
	}
	return d
}

// mergeAlternatives builds one issue for a oneOf/anyOf whose best alternatives tie.
// Its depth is that of the alternatives, so an enclosing oneOf still sees how far they got.
func mergeAlternatives(e *jsonschema.ValidationError, branches [][]schemaIssue, depth int) schemaIssue {
	var b strings.Builder
	fmt.Fprintf(&b, "at '%s': no alternative of the schema matches:", pointer(e.InstanceLocation))
	for i, branch := range branches {
		msgs := make([]string, len(branch))
		for j, is := range branch {
			msgs[j] = is.msg
		}
		fmt.Fprintf(&b, " (%d) %s;", i+1, strings.Join(msgs, "; "))
	}
	return schemaIssue{
		ptr:   pointer(e.InstanceLocation),
		depth: depth,
		msg:   strings.TrimSuffix(b.String(), ";"),
	}
}
