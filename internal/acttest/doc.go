// Package acttest compares activation tables in tests: a sharded capture, merged, against a single
// process's (SameActivations). It is apart from internal/testutil because it imports data, which
// packages that testutil serves (trace, trace/chat) sit below.
package acttest
