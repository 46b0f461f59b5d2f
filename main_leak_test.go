package main

import (
	"testing"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// TestMain fails the run when a command leaves a goroutine behind once it
// returned: demo and serve stop their cluster, listeners and streams.
func TestMain(m *testing.M) { testsupport.Main(m, nil) }
