// Package hubtest provides a fake Python package index for tests of package hub and its callers: an
// httptest server speaking the subset of PyPI's JSON API that hub uses, serving wheels built in memory
// by NewWheel, with knobs to publish wrong digests or sizes and to cut downloads short.
package hubtest
