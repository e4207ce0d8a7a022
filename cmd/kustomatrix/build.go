package main

import (
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/internal/render"
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
			dir, cfg, err := configAt(o.repo)
			if err != nil {
				return err
			}
			_, yml, err := render.Build(filesys.MakeFsOnDisk(), dir, target, cfg)
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
