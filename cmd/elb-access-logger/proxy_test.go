package main

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// storeProxy stands between the agent and the test bed's radosgw, so a test
// can cut the store off (an outage) without disturbing anyone else who
// uses the shared bed, and can hold the store's answer to a PUT so that the
// agent is killed after the store has the object but before the agent
// knows it.
type storeProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[*proxyConn]struct{}
	trap  []byte        // hold responses on connections that send this
	held  chan struct{} // told when a response is held
}

type proxyConn struct {
	client, server net.Conn
	mu             sync.Mutex
	hold           bool
}

func (c *proxyConn) close() {
	c.client.Close()
	c.server.Close()
}

func newStoreProxy(t *testing.T, target string) *storeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &storeProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}, held: make(chan struct{}, 1)}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	return p
}

// URL is the proxy's endpoint for the agent.
func (p *storeProxy) URL() string { return "http://" + p.ln.Addr().String() }

// setDown cuts (true) or restores (false) the store. Cutting closes every
// open connection; while down, new connections are closed at once.
func (p *storeProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.close()
		}
	}
}

// armTrap makes the proxy hold the store's response on the next connection
// whose request contains pattern, and report it on p.held.
func (p *storeProxy) armTrap(pattern []byte) {
	p.mu.Lock()
	p.trap = pattern
	p.mu.Unlock()
}

func (p *storeProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			client.Close()
			continue
		}
		p.mu.Unlock()
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxyConn{client: client, server: server}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *storeProxy) pipe(c *proxyConn) {
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() { // agent -> store, watching for the trap
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := c.client.Read(buf)
			if n > 0 {
				p.mu.Lock()
				if p.trap != nil && bytes.Contains(buf[:n], p.trap) {
					p.trap = nil
					c.mu.Lock()
					c.hold = true
					c.mu.Unlock()
				}
				p.mu.Unlock()
				if _, werr := c.server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	// store -> agent; a held connection swallows the answer until the
	// agent is gone.
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			c.mu.Lock()
			hold := c.hold
			c.mu.Unlock()
			if hold {
				select {
				case p.held <- struct{}{}:
				default:
				}
				<-done
				return
			}
			if _, werr := c.client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.client.Close()
	<-done
}
