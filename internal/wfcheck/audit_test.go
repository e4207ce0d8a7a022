package wfcheck

import (
	"strings"
	"testing"
)

// auditCase is a repository, the audit finding it must produce (kind and
// part of the message; line when stable), and whether its kind must be
// absent instead (a near miss that is fine).
type auditCase struct {
	name  string
	files map[string]string
	want  want
	clean bool // no finding of want.kind at all
}

// auditWorkflowWith is a minimal clean workflow with a job body replaced.
func auditWorkflowWith(top, job string) string {
	if top == "" {
		top = "on:\n  pull_request:\npermissions: {}\n"
	}
	return top + "jobs:\n  build:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n" + job
}

const pinnedCheckout = "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with:\n          persist-credentials: false\n"

// auditActionWith is a composite action with the given steps.
func auditActionWith(steps string) string {
	return "name: A\ndescription: An action.\ninputs:\n  who:\n    description: Who.\n    required: false\nruns:\n  using: composite\n  steps:\n" + steps
}

// modesWorkflow is a reusable workflow with a diff job and an apply job;
// diffStep and applyStep are each job's one step.
func modesWorkflow(diffStep, applyStep, applyExtra string) string {
	return "on:\n  workflow_call:\n    inputs:\n      mode:\n        type: string\n        required: true\n    secrets:\n      A:\n        required: false\n      B:\n        required: false\npermissions: {}\njobs:\n" +
		"  diff:\n    if: inputs.mode == 'diff'\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n" + diffStep +
		"  apply:\n    if: inputs.mode != 'diff'\n    runs-on: ubuntu-latest\n" + applyExtra + "    permissions:\n      contents: read\n    steps:\n" + applyStep
}

const (
	stepSecretA = "      - run: echo \"$K\"\n        env:\n          K: ${{ secrets.A }}\n"
	stepSecretB = "      - run: echo \"$K\"\n        env:\n          K: ${{ secrets.B }}\n"
	awsStep     = "      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2\n        with:\n          role-to-assume: arn:aws:iam::1:role/deploy\n          aws-region: eu-west-1\n"
)

var auditCases = []auditCase{{
	name:  "credentials-by-mode: a diff job reads the apply secret",
	files: map[string]string{wf: modesWorkflow(stepSecretA, stepSecretA, "    environment: prod\n")},
	want:  want{path: wf, kind: KindCredentialsByMode, contains: "both read secret A"},
}, {
	name:  "credentials-by-mode: a diff job assumes the apply role",
	files: map[string]string{wf: strings.Replace(modesWorkflow(awsStep, awsStep, "    environment: prod\n"), "      contents: read\n", "      contents: read\n      id-token: write\n", -1)},
	want:  want{path: wf, kind: KindCredentialsByMode, contains: "both assume role arn:aws:iam::1:role/deploy"},
}, {
	name:  "credentials-by-mode: an apply job without a GitHub environment",
	files: map[string]string{wf: modesWorkflow(stepSecretB, stepSecretA, "")},
	want:  want{path: wf, kind: KindCredentialsByMode, contains: "names no GitHub environment"},
}, {
	name:  "credentials-by-mode: each mode its own secret, apply in an environment",
	files: map[string]string{wf: modesWorkflow(stepSecretB, stepSecretA, "    environment: prod\n")},
	want:  want{kind: KindCredentialsByMode}, clean: true,
}, {
	name: "credentials-by-mode: a pull request's run passes a secret whatever the mode",
	files: map[string]string{wf: "on:\n  pull_request:\npermissions: {}\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    outputs:\n      mode: diff\n    steps:\n      - run: echo\n" +
		"  svc:\n    needs: plan\n    uses: ./.github/workflows/d.yml\n    permissions:\n      contents: read\n    with:\n      mode: ${{ needs.plan.outputs.mode }}\n    secrets:\n      A: ${{ secrets.A }}\n      B: ${{ needs.plan.outputs.mode == 'diff' && secrets.B || '' }}\n"},
	want: want{path: wf, kind: KindCredentialsByMode, contains: "passes secret A in every mode"},
}, {
	name:  "excessive-permissions: id-token for a job that requests no OIDC token",
	files: map[string]string{wf: strings.Replace(auditWorkflowWith("", "      - run: echo hi\n"), "      contents: read\n", "      contents: read\n      id-token: write\n", 1)},
	want:  want{path: wf, kind: KindExcessivePermissions, contains: "requests an OIDC token"},
}, {
	name:  "template-injection: an expression in a workflow run",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo \"${{ github.event.pull_request.title }}\"\n")},
	want:  want{path: wf, kind: KindTemplateInjection, line: 10, contains: "github.event.pull_request.title"},
}, {
	name:  "template-injection: an expression in a composite run",
	files: map[string]string{act: auditActionWith("    - shell: bash\n      run: |\n        echo hi\n        echo ${{ inputs.who }}\n")},
	want:  want{path: act, kind: KindTemplateInjection, contains: "inputs.who"},
}, {
	name: "template-injection: an expression in a github-script",
	files: map[string]string{wf: auditWorkflowWith("", "      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1\n"+
		"        with:\n          script: console.log('${{ github.head_ref }}')\n")},
	want: want{path: wf, kind: KindTemplateInjection, contains: "github.head_ref"},
}, {
	name:  "template-injection: env is the way",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo \"$TITLE\"\n        env:\n          TITLE: ${{ github.event.pull_request.title }}\n")},
	want:  want{kind: KindTemplateInjection}, clean: true,
}, {
	name:  "excessive-permissions: no top-level permissions",
	files: map[string]string{wf: auditWorkflowWith("on:\n  pull_request:\n", "      - run: echo hi\n")},
	want:  want{path: wf, kind: KindExcessivePermissions, line: 1, contains: "no top-level"},
}, {
	name:  "excessive-permissions: write-all on a job",
	files: map[string]string{wf: strings.Replace(auditWorkflowWith("", "      - run: echo hi\n"), "    permissions:\n      contents: read\n", "    permissions: write-all\n", 1)},
	want:  want{path: wf, kind: KindExcessivePermissions, contains: `"write-all"`},
}, {
	name:  "excessive-permissions: a write for every job",
	files: map[string]string{wf: auditWorkflowWith("on:\n  pull_request:\npermissions:\n  contents: read\n  pull-requests: write\n", "      - run: echo hi\n")},
	want:  want{path: wf, kind: KindExcessivePermissions, line: 5, contains: "pull-requests: write to every job"},
}, {
	name:  "unsound-condition: a block scalar keeps its newline",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo hi\n        if: |\n          ${{ false }}\n")},
	want:  want{path: wf, kind: KindUnsoundCondition, line: 11, contains: "always true"},
}, {
	name:  "unsound-condition: two expressions joined outside them",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo hi\n        if: ${{ github.event_name == 'push' }} && ${{ false }}\n")},
	want:  want{path: wf, kind: KindUnsoundCondition, contains: "always true"},
}, {
	name:  "unsound-condition: in a composite action",
	files: map[string]string{act: auditActionWith("    - shell: bash\n      if: \"${{ inputs.who == 'x' }} \"\n      run: echo hi\n")},
	want:  want{path: act, kind: KindUnsoundCondition},
}, {
	name:  "unsound-condition: a stripped block scalar and a bare expression are fine",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo hi\n        if: |-\n          ${{ false }}\n      - run: echo hi\n        if: github.event_name == 'push'\n")},
	want:  want{kind: KindUnsoundCondition}, clean: true,
}, {
	name:  "unsound-ternary: && 0 || is always the fallback",
	files: map[string]string{wf: auditWorkflowWith("", pinnedCheckout+"          fetch-depth: ${{ github.event_name == 'push' && 0 || 1 }}\n")},
	want:  want{path: wf, kind: KindUnsoundTernary, line: 13, contains: "&& 0 || 1"},
}, {
	name:  "unsound-ternary: an empty string, in a bare if",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo hi\n        if: (github.ref == 'refs/heads/main' && '' || 'x') == 'x'\n")},
	want:  want{path: wf, kind: KindUnsoundTernary, contains: "&& '' || 'x'"},
}, {
	name:  "unsound-ternary: in a composite action's env",
	files: map[string]string{act: auditActionWith("    - shell: bash\n      env:\n        V: ${{ inputs.who && false || 'default' }}\n      run: echo \"$V\"\n")},
	want:  want{path: act, kind: KindUnsoundTernary},
}, {
	name:  "unsound-ternary: a quoted '0' is truthy",
	files: map[string]string{wf: auditWorkflowWith("", pinnedCheckout+"          fetch-depth: ${{ github.event_name == 'push' && '0' || '1' }}\n")},
	want:  want{kind: KindUnsoundTernary}, clean: true,
}, {
	name:  "unpinned-uses: a tag",
	files: map[string]string{wf: auditWorkflowWith("", "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n")},
	want:  want{path: wf, kind: KindUnpinnedUses, line: 10, contains: "actions/checkout@v4"},
}, {
	name:  "unpinned-uses: a SHA without the release comment",
	files: map[string]string{wf: auditWorkflowWith("", "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n        with:\n          persist-credentials: false\n")},
	want:  want{path: wf, kind: KindUnpinnedUses, contains: "# vX.Y.Z"},
}, {
	name:  "unpinned-uses: a reusable workflow on a branch",
	files: map[string]string{wf: "on:\n  pull_request:\npermissions: {}\njobs:\n  call:\n    uses: acme/workflows/.github/workflows/deploy.yml@main\n"},
	want:  want{path: wf, kind: KindUnpinnedUses, contains: "deploy.yml@main"},
}, {
	name:  "unpinned-uses: a docker image by tag, in a composite action",
	files: map[string]string{act: auditActionWith("    - uses: docker://alpine:3.20\n")},
	want:  want{path: act, kind: KindUnpinnedUses, contains: "not pinned by digest"},
}, {
	name: "unpinned-uses: local, SHA with comment, image by digest are fine",
	files: map[string]string{act: auditActionWith("    - uses: ./other\n    - uses: docker://alpine@sha256:" + strings.Repeat("a", 64) + "\n"),
		".github/actions/greet/other/action.yml": auditActionWith("    - run: echo hi\n      shell: bash\n"),
		wf:                                       auditWorkflowWith("", pinnedCheckout)},
	want: want{kind: KindUnpinnedUses}, clean: true,
}, {
	name:  "artipacked: checkout keeps the token",
	files: map[string]string{wf: auditWorkflowWith("", "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n")},
	want:  want{path: wf, kind: KindArtipacked, line: 10, contains: "persist-credentials: false"},
}, {
	name:  "artipacked: persist-credentials true, in a composite action",
	files: map[string]string{act: auditActionWith("    - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      with:\n        persist-credentials: true\n")},
	want:  want{path: act, kind: KindArtipacked},
}, {
	name: "secrets-inherit",
	files: map[string]string{wf: "on:\n  pull_request:\npermissions: {}\njobs:\n  call:\n    uses: ./.github/workflows/reusable.yml\n    with:\n      target: x\n    secrets: inherit\n",
		reusable: strings.Replace(reusableWorkflow, `echo "deploying ${{ inputs.target }}"`, `echo deploying`, 1)},
	want: want{path: wf, kind: KindSecretsInherit, line: 9, contains: "jobs.call"},
}, {
	name:  "github-env: a value from the pull request",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: echo \"TITLE=$TITLE\" >> \"$GITHUB_ENV\"\n        env:\n          TITLE: ${{ github.event.pull_request.title }}\n")},
	want:  want{path: wf, kind: KindGitHubEnv, contains: "GITHUB_ENV"},
}, {
	name:  "github-env: a command's output to GITHUB_PATH, in a composite action",
	files: map[string]string{act: auditActionWith("    - shell: bash\n      run: |\n        dir=$(cat .tool-dir)\n        echo \"$dir\" >> \"$GITHUB_PATH\"\n")},
	want:  want{path: act, kind: KindGitHubEnv, contains: "GITHUB_PATH"},
}, {
	name:  "github-env: any write under a dangerous trigger",
	files: map[string]string{wf: auditWorkflowWith("on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\npermissions: {}\n", "      - run: echo \"X=$RUNNER_TEMP\" >> \"$GITHUB_ENV\"\n")},
	want:  want{path: wf, kind: KindGitHubEnv, contains: "dangerous trigger"},
}, {
	name: "github-env: runner paths, directly or through a variable, are fine",
	files: map[string]string{wf: auditWorkflowWith("", "      - run: |\n          echo \"KUBECONFIG=$RUNNER_TEMP/kubeconfig\" >> \"$GITHUB_ENV\"\n"+
		"          out=\"$RUNNER_TEMP/bin\"\n          echo \"$out\" >> \"$GITHUB_PATH\"\n")},
	want: want{kind: KindGitHubEnv}, clean: true,
}, {
	name:  "dangerous-triggers: pull_request_target",
	files: map[string]string{wf: auditWorkflowWith("on:\n  pull_request_target:\npermissions: {}\n", "      - run: echo hi\n")},
	want:  want{path: wf, kind: KindDangerousTriggers, line: 2, contains: "pull_request_target"},
}, {
	name:  "dangerous-triggers: workflow_run",
	files: map[string]string{wf: auditWorkflowWith("on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\npermissions: {}\n", "      - run: echo hi\n")},
	want:  want{path: wf, kind: KindDangerousTriggers, contains: "workflow_run"},
}}

// TestAudits: each audit catches the bad workflow or action of its case,
// and leaves the near misses alone.
func TestAudits(t *testing.T) {
	for _, tc := range auditCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Check(writeRepo(t, tc.files), Options{})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, f := range got {
				t.Log(f)
			}
			if tc.clean {
				for _, f := range got {
					if f.Kind == tc.want.kind {
						t.Errorf("unexpected finding: %s", f)
					}
				}
				return
			}
			if !containsMatch(got, tc.want) {
				t.Errorf("no finding matches %+v", tc.want)
			}
		})
	}
}

// TestAuditKindsAreCovered: every audit kind has a case that catches it.
func TestAuditKindsAreCovered(t *testing.T) {
	caught := map[string]bool{}
	for _, tc := range auditCases {
		if !tc.clean {
			caught[tc.want.kind] = true
		}
	}
	for _, k := range []string{KindTemplateInjection, KindExcessivePermissions, KindUnsoundCondition, KindUnsoundTernary,
		KindUnpinnedUses, KindArtipacked, KindSecretsInherit, KindGitHubEnv, KindDangerousTriggers, KindCredentialsByMode} {
		if !caught[k] {
			t.Errorf("no case catches %s", k)
		}
	}
}

func TestTrustedText(t *testing.T) {
	trusted := map[string]bool{"out": true}
	for s, want := range map[string]bool{
		`echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig"`: true,
		`echo "$out"`:                       true,
		`echo "${out}/bin"`:                 true,
		`echo literal`:                      true,
		`echo "$TITLE"`:                     false,
		`echo "$(cat file)"`:                false,
		"echo `cat file`":                   false,
		`echo "${{ github.head_ref }}"`:     false,
		`printf '%s\n' "$1"`:                false,
		`echo "$GITHUB_REF"`:                false,
		`echo "$GITHUB_WORKSPACE/bin:$out"`: true,
	} {
		if got := trustedText(s, trusted); got != want {
			t.Errorf("trustedText(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestExpressions(t *testing.T) {
	got := expressions("a ${{ x }} b ${{ format('{0}}', y) }} c ${{ broken")
	want := []string{" x ", " format('{0}}', y) ", " broken"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("expressions = %q, want %q", got, want)
	}
}
