package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

func newBuildCommand(s *streams) *cobra.Command {
	var o repoOptions
	var target, output string
	cmd := &cobra.Command{
		Use:   "build --target PATH",
		Short: "Render one kustomization root, as the generated pipeline does",
		Long: `Builds one kustomization root with the kustomize library kustomatrix embeds,
with the load restrictor of the configuration, so the pipeline does not
depend on a separately installed kustomize.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if target == "" {
				return usageError("--target is required")
			}
			dir, err := filepath.Abs(o.repo)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(dir)
			if err != nil {
				return err
			}
			yml, err := Build(dir, target, cfg)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if output == "" {
				_, err = s.out.Write(yml)
				return err
			}
			if err := os.WriteFile(output, yml, 0o644); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			return nil
		},
	}
	o.register(cmd, false)
	cmd.Flags().StringVar(&target, "target", "", "the kustomization root, relative to --repo")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

// Build renders a kustomization root the way the dependency analysis
// assumes kustomize reads it: builtin plugins only, the configured load
// restrictor, helm off.
func Build(repoDir, target string, cfg *generator.Config) ([]byte, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	if cfg.Kustomize.LoadRestrictor == generator.LoadRestrictorNone {
		opts.LoadRestrictions = types.LoadRestrictionsNone
	}
	k := krusty.MakeKustomizer(opts)
	path := filepath.Join(repoDir, filepath.FromSlash(target))
	m, err := k.Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", target, err)
	}
	return m.AsYaml()
}
