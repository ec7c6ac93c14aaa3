// Package layering holds no code: its test checks the import direction of the project's packages
// ("layering" is the rule of who may import whom, from STYLE.md) with go list.
package layering
