package generator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/kustomatrix/kustomatrix/generator"
)

// compiledConfigSchema compiles generator.ConfigSchema once for the package.
var compiledConfigSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(generator.ConfigSchema()))
	if err != nil {
		return nil, fmt.Errorf("parsing the schema: %w", err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	if id == "" {
		return nil, fmt.Errorf("the schema has no $id")
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("registering the schema: %w", err)
	}
	return c.Compile(id)
})

func configSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, err := compiledConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateAgainstSchema decodes a configuration file the way an editor
// sees it (YAML 1.2 through yaml.v3) and validates it. An empty or
// comment-only file is the empty object: LoadConfig accepts it, and so does
// the YAML language server.
func validateAgainstSchema(t *testing.T, data []byte) error {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	v, err := jsonCompatible(doc)
	if err != nil {
		return err
	}
	// A JSON round trip gives exactly the value types the validator knows.
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("converting to JSON: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("reading back JSON: %w", err)
	}
	return configSchema(t).Validate(inst)
}

// jsonCompatible turns what yaml.v3 decodes into interface values into
// values encoding/json can marshal: yaml.v3 produces map[any]any for a
// mapping with a non-string key, which JSON cannot represent.
func jsonCompatible(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int, int64, uint64, float64:
		return v, nil
	default:
		return nil, fmt.Errorf("YAML value %v of type %T has no JSON equivalent", v, v)
	}
}

// TestConfigSchemaAcceptsFixtures: every configuration file in the
// project's test data is valid for the editor and for kustomatrix alike.
func TestConfigSchemaAcceptsFixtures(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == generator.ConfigFile {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d %s files under ../testdata: %q", len(files), generator.ConfigFile, files)
	}
	for _, f := range files {
		t.Run(filepath.ToSlash(strings.TrimPrefix(f, "../testdata/")), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateAgainstSchema(t, data); err != nil {
				t.Errorf("the schema rejects %s:\n%v", f, err)
			}
			if _, err := generator.LoadConfig(f, data); err != nil {
				t.Errorf("LoadConfig rejects %s:\n%v", f, err)
			}
		})
	}
}

// TestConfigSchemaRejectsInvalid: each file under testdata/config/invalid
// (its first line says what is wrong) is refused by the schema, so the
// editor underlines it, and by LoadConfig.
func TestConfigSchemaRejectsInvalid(t *testing.T) {
	files, err := filepath.Glob("../testdata/config/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid configurations found: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("# ")) {
				t.Fatalf("%s must start with a comment saying why it is invalid", f)
			}
			why := string(data[2:bytes.IndexByte(data, '\n')])
			var verr *jsonschema.ValidationError
			if err := validateAgainstSchema(t, data); !errors.As(err, &verr) {
				t.Errorf("the schema does not reject %s (%s): %v", f, why, err)
			} else {
				t.Logf("%s\nschema: %v", why, verr)
			}
			if _, err := generator.LoadConfig(f, data); err == nil {
				t.Errorf("LoadConfig accepts %s (%s)", f, why)
			} else {
				t.Logf("LoadConfig: %v", err)
			}
		})
	}
}

// TestConfigSchemaMatchesStruct walks generator.Config's yaml tags and the
// schema's properties side by side: a key added to one and not the other
// fails here, as does an object that accepts keys LoadConfig would refuse
// or a property without a description for the editor to show.
func TestConfigSchemaMatchesStruct(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(generator.ConfigSchema(), &root); err != nil {
		t.Fatal(err)
	}
	w := compareSchemaWithStruct(root)
	for _, p := range w.problems {
		t.Error(p)
	}
	if w.structs < 8 {
		t.Errorf("compared only %d objects; the walk is not reaching every struct", w.structs)
	}
}

// TestConfigSchemaComparisonCatchesDrift proves the comparison above is not
// vacuous: a schema with a key removed and a key added is caught.
func TestConfigSchemaComparisonCatchesDrift(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(generator.ConfigSchema(), &root); err != nil {
		t.Fatal(err)
	}
	defs := root["definitions"].(map[string]any)
	delete(defs["tool"].(map[string]any)["properties"].(map[string]any), "version")
	defs["awsEks"].(map[string]any)["properties"].(map[string]any)["accountId"] = map[string]any{"description": "x"}
	delete(defs["kustomize"].(map[string]any), "additionalProperties")
	got := compareSchemaWithStruct(root).problems
	for _, want := range []string{`tool: keys differ`, `"version"`, `environments.*.credentials.awsEks: keys differ`, `"accountId"`,
		`kustomize: the schema must set additionalProperties: false`} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("the comparison does not report %q; it reports:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// schemaWalker compares a schema with a Go type, collecting problems.
type schemaWalker struct {
	root     map[string]any
	structs  int
	problems []string
}

func compareSchemaWithStruct(root map[string]any) *schemaWalker {
	w := &schemaWalker{root: root}
	w.compare(root, reflect.TypeOf(generator.Config{}), "")
	return w
}

func (w *schemaWalker) errorf(format string, args ...any) {
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// flatten returns a schema node merged with what it refers to: draft-07
// ignores keywords beside $ref, so described properties wrap their $ref in
// allOf, and both spellings must be looked through.
func (w *schemaWalker) flatten(n map[string]any) map[string]any {
	out := map[string]any{}
	props := map[string]any{}
	merge := func(m map[string]any) {
		for k, v := range m {
			if k == "properties" {
				for p, s := range v.(map[string]any) {
					props[p] = s
				}
			} else if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	merge(n)
	if ref, ok := n["$ref"].(string); ok {
		merge(w.flatten(w.lookup(ref)))
	}
	if all, ok := n["allOf"].([]any); ok {
		for _, s := range all {
			merge(w.flatten(s.(map[string]any)))
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	return out
}

func (w *schemaWalker) lookup(ref string) map[string]any {
	name, _ := strings.CutPrefix(ref, "#/definitions/")
	defs, _ := w.root["definitions"].(map[string]any)
	def, _ := defs[name].(map[string]any)
	if def == nil {
		w.errorf("unresolvable $ref %q", ref)
		return map[string]any{}
	}
	return def
}

func (w *schemaWalker) compare(node map[string]any, typ reflect.Type, at string) {
	n := w.flatten(node)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		w.compareStruct(n, typ, at)
	case reflect.Slice:
		if typ == reflect.TypeOf(generator.StringList{}) {
			return // a string or a list of strings: a leaf
		}
		items, _ := n["items"].(map[string]any)
		if items == nil {
			w.errorf("%s: the schema gives no items for the list %s", schemaAt(at), typ)
			return
		}
		w.compare(items, typ.Elem(), at+".[]")
	case reflect.Map:
		if typ.Elem().Kind() == reflect.Interface {
			if n["additionalProperties"] == false {
				w.errorf("%s: free-form in Go (%s) but closed in the schema", schemaAt(at), typ)
			}
			return
		}
		ap, _ := n["additionalProperties"].(map[string]any)
		if ap == nil {
			w.errorf("%s: the schema gives no additionalProperties schema for the map %s", schemaAt(at), typ)
			return
		}
		w.compare(ap, typ.Elem(), at+".*")
	}
}

func (w *schemaWalker) compareStruct(n map[string]any, typ reflect.Type, at string) {
	w.structs++
	if n["additionalProperties"] != false {
		w.errorf("%s: the schema must set additionalProperties: false, as LoadConfig refuses unknown keys", schemaAt(at))
	}
	props, _ := n["properties"].(map[string]any)
	fields := map[string]reflect.Type{}
	for i := 0; i < typ.NumField(); i++ {
		if tag := strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			fields[tag] = typ.Field(i).Type
		}
	}
	if diff := cmp.Diff(schemaSortedKeys(fields), schemaSortedKeys(props)); diff != "" {
		w.errorf("%s: keys differ between %s (-) and the schema (+):\n%s", schemaAt(at), typ, diff)
	}
	for key, ft := range fields {
		p, ok := props[key].(map[string]any)
		if !ok {
			continue
		}
		if d, _ := w.flatten(p)["description"].(string); d == "" {
			w.errorf("%s.%s has no description", schemaAt(at), key)
		}
		w.compare(p, ft, strings.TrimPrefix(at+"."+key, "."))
	}
}

func schemaAt(at string) string {
	if at == "" {
		return "(top level)"
	}
	return at
}

func schemaSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestConfigSchemaAccessor: the exported accessor returns the embedded
// file itself, and a copy that a caller cannot corrupt.
func TestConfigSchemaAccessor(t *testing.T) {
	onDisk, err := os.ReadFile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	got := generator.ConfigSchema()
	if !bytes.Equal(got, onDisk) {
		t.Fatal("ConfigSchema() differs from config.schema.json")
	}
	got[0] = 'X'
	if !bytes.Equal(generator.ConfigSchema(), onDisk) {
		t.Fatal("modifying the result of ConfigSchema() changed the next result")
	}
}
