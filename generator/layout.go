package generator

import (
	"fmt"
	"sort"
)

// DefaultMaxServiceJobs is where the matrix layout takes over. A service
// job costs about 540 bytes of caller workflow (measured on the golden
// cases), so GitHub's 512,000-byte limit falls near 950 services; 250 keeps
// three quarters of that in reserve and the run page readable.
const DefaultMaxServiceJobs = 250

// Chunk is one job of the matrix layout: up to MaxMatrixJobs targets of one
// environment, in paths-file order.
type Chunk struct {
	JobID             string
	Title             string
	Environment       string
	GitHubEnvironment string
	// ApplySecrets and DiffSecrets are the secrets of the environment's
	// credentials of each mode, passed to the chunk's job only in that mode.
	ApplySecrets, DiffSecrets []string
	Indices                   []int // positions in Repo.Targets
}

// MatrixLayout reports whether the caller workflow uses chunk jobs instead
// of one job per service.
func (r *Repo) MatrixLayout() bool {
	return len(r.Services) > r.Config.Layout.MaxServiceJobs
}

// Chunks splits the targets by environment into groups of at most
// MaxMatrixJobs. The split depends only on the list of targets, so the plan
// job (affected) and the generated workflow agree on it.
func (r *Repo) Chunks() ([]Chunk, error) {
	byEnv := map[string][]int{}
	for i, t := range r.Targets {
		byEnv[t.Environment] = append(byEnv[t.Environment], i)
	}
	envs := sortedKeys(byEnv)
	var chunks []Chunk
	seen := map[string]string{}
	for _, env := range envs {
		idx := byEnv[env]
		settings := r.Config.EnvironmentSettings(env)
		parts := (len(idx) + MaxMatrixJobs - 1) / MaxMatrixJobs
		for k := 0; k < parts; k++ {
			id := fmt.Sprintf("%s-%d", JobID(env), k+1)
			if other, ok := seen[id]; ok {
				return nil, &ConfigError{Problems: []Diagnostic{{Path: ConfigFile, Kind: "naming",
					Message: fmt.Sprintf("environments %q and %q both map to job id %q", other, env, id)}}}
			}
			seen[id] = env
			end := min((k+1)*MaxMatrixJobs, len(idx))
			chunks = append(chunks, Chunk{JobID: id, Title: fmt.Sprintf("%s (%d of %d)", env, k+1, parts),
				Environment: env, GitHubEnvironment: settings.GitHubEnvironment, Indices: idx[k*MaxMatrixJobs : end]})
		}
	}
	sort.SliceStable(chunks, func(i, j int) bool { return chunks[i].Environment < chunks[j].Environment })
	return chunks, nil
}

// ChunkOf maps each target index to its chunk's job id.
func ChunkOf(chunks []Chunk) map[int]string {
	m := map[int]string{}
	for _, c := range chunks {
		for _, i := range c.Indices {
			m[i] = c.JobID
		}
	}
	return m
}
