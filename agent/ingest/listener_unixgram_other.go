//go:build !linux

package ingest

import "errors"

func openUnixgramSocket(path string) (*udpSocket, error) {
	return nil, errors.New("unix:// listeners need Linux")
}
