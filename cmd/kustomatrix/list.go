package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCommand(s *streams) *cobra.Command {
	var o repoOptions
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every target with its dependency set",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if format != "table" && format != "json" {
				return usageError("--format must be table or json, got %q", format)
			}
			repo, _, err := o.load(s)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(repo.Targets)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tENVIRONMENT\tPATH\tINPUTS")
			for _, t := range repo.Targets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Service, t.Environment, t.Path, strings.Join(t.Inputs, " "))
			}
			return tw.Flush()
		},
	}
	o.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// shellQuote quotes a path for a command line shown to the user.
func shellQuote(p string) string {
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
