// Package lib is a fixture of the apilist test.
package lib

import (
	"context"
	"errors"
)

// Mode is a mode.
type Mode uint8

const (
	ModeA Mode = iota
	ModeB
	modeHidden
)

const Limit = 10 * 2

var ErrBad = errors.New("lib: bad, and this text is not API")

var Default = Config{Size: 1}

type Config struct {
	Size    int
	OnEvent func(ctx context.Context,
		n int) error
	hidden int
	Embedded
}

type Embedded struct{ X int }

type Sealed interface {
	Do(ctx context.Context) error
	seal()
}

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

type Alias = Config

func (p *Pair[K, V]) Swap() {}

func New[T any](x T, opts ...Config) (*Pair[string, T], error) { return nil, nil }

func (c Config) String() string { return "" }

func (c *Config) hidden2() {}

type unexported struct{}

func (unexported) Exported() {}

func helper() {}
