package lib

import "testing"

func TestOnly(t *testing.T) {}
