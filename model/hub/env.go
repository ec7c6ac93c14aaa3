package hub

import "os"

// EnvIndexURL is the environment variable that overrides the package index base URL when
// Options.IndexURL is empty. It is the only environment variable this package reads.
const EnvIndexURL = "AGENTLENS_PYPI_URL"

// DefaultIndexURL is the package index used when neither Options.IndexURL nor EnvIndexURL is set.
const DefaultIndexURL = "https://pypi.org"

// indexURL returns the index base URL for opts, without a trailing slash.
func indexURL(opts Options) string {
	u := opts.IndexURL
	if u == "" {
		u = os.Getenv(EnvIndexURL)
	}
	if u == "" {
		u = DefaultIndexURL
	}
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	return u
}
