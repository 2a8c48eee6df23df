//go:build !unix

package main

import "os"

// jobControlSignals is empty: this system has no job control.
func jobControlSignals() []os.Signal { return nil }

func (r *relay) jobControl(os.Signal) {}
