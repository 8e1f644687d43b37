package filetransfer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Transfers own every goroutine they start (App.Close, Manager.Close and
// the transports' Close wait for them): none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
