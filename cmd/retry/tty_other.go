//go:build !(linux || darwin)

package main

// terminalSignalsChild reports whether a terminal's Ctrl-C reaches the
// child directly; where that cannot be checked, every signal is forwarded.
func terminalSignalsChild() bool { return false }
