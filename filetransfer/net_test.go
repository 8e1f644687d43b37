package filetransfer_test

import (
	"context"
	"errors"
	"net"
)

func refuseDial(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("blocked by the test's firewall")
}
