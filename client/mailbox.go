package client

import "sync"

// watchBuffer is the channel capacity of a persistent watch's channel;
// events beyond it wait in the mailbox's queue. An event
// that fits is in the channel before the reader goroutine reads the next
// reply, which is what keeps ZooKeeper's "event before newer data"
// guarantee observable; 1024 covers the burst a server sends when it
// catches up after seconds of partition (the chaos watch workload saw 35),
// at about 56 KB per channel.
const watchBuffer = 1024

// sessionBuffer is the channel capacity of the session event channel.
const sessionBuffer = 16

// mailbox delivers an ordered stream of events to a channel without ever
// blocking the sender (the connection's reader goroutine): when the channel
// is full, events queue in memory and a pump goroutine, started only while
// the queue is non-empty, feeds them in order. This keeps one slow reader
// of one watch from stalling every other watch and reply.
type mailbox struct {
	ch    chan Event
	limit int             // queued events kept at most (oldest dropped); 0 = unbounded
	wg    *sync.WaitGroup // the Conn's goroutines
	quit  <-chan struct{} // closed when the Conn is torn down: pumps give up

	mu      sync.Mutex
	q       []Event
	pumping bool // a pump goroutine owns the head of q
	closed  bool // no more events; ch is closed once q is drained
}

func newMailbox(buffer, limit int, wg *sync.WaitGroup, quit <-chan struct{}) *mailbox {
	return &mailbox{ch: make(chan Event, buffer), limit: limit, wg: wg, quit: quit}
}

// put queues ev. It never blocks.
func (m *mailbox) put(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if !m.pumping && len(m.q) == 0 {
		select {
		case m.ch <- ev:
			return
		default:
		}
	}
	if m.limit > 0 && len(m.q) >= m.limit {
		m.q = m.q[1:]
	}
	m.q = append(m.q, ev)
	if !m.pumping {
		m.pumping = true
		m.wg.Add(1)
		go m.pump()
	}
}

// close ends the stream: ch is closed after the queued events.
func (m *mailbox) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	if !m.pumping {
		close(m.ch)
	}
}

func (m *mailbox) pump() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		if len(m.q) == 0 {
			m.pumping = false
			if m.closed {
				close(m.ch)
			}
			m.mu.Unlock()
			return
		}
		ev := m.q[0]
		m.q[0] = Event{}
		m.q = m.q[1:]
		m.mu.Unlock()
		select {
		case m.ch <- ev:
		case <-m.quit:
			m.abandon(ev)
			return
		}
	}
}

// abandon runs when the Conn is torn down while nobody reads: what still
// fits in the channel's buffer is kept, the rest is dropped, and the
// channel is closed so that readers see the end.
func (m *mailbox) abandon(head Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ev := range append([]Event{head}, m.q...) {
		select {
		case m.ch <- ev:
		default:
		}
	}
	m.q = nil
	m.pumping = false
	m.closed = true
	close(m.ch)
}
