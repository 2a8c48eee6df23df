package jetstreamx_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The fakes stand in for the server where a test needs no network: a
// message whose acknowledgements are recorded, a bucket in memory, a
// consumer that only describes itself, a JetStream context that only
// publishes dead letters to memory. Methods the adapter does not call
// panic (their interfaces are embedded nil).

// fakeMsg is a delivery of a message.
type fakeMsg struct {
	jetstream.Msg
	meta     jetstream.MsgMetadata
	data     []byte
	metaErr  error
	mu       sync.Mutex
	acks     []string      // "ack", "nak", "term": the acknowledgements sent
	delay    time.Duration // of the last nak
	progress int           // InProgress calls
}

func newFakeMsg(seq, delivered uint64, published time.Time) *fakeMsg {
	return &fakeMsg{meta: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: seq, Consumer: delivered},
		NumDelivered: delivered, Timestamp: published, Stream: "S", Consumer: "C"}}
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	if m.metaErr != nil {
		return nil, m.metaErr
	}
	meta := m.meta
	return &meta, nil
}
func (m *fakeMsg) Data() []byte         { return m.data }
func (m *fakeMsg) Headers() nats.Header { return nil }
func (m *fakeMsg) Subject() string      { return "S.jobs" }
func (m *fakeMsg) Ack() error           { return m.ack("ack", 0) }
func (m *fakeMsg) NakWithDelay(d time.Duration) error {
	return m.ack("nak", d)
}
func (m *fakeMsg) Term() error                   { return m.ack("term", 0) }
func (m *fakeMsg) TermWithReason(s string) error { return m.ack("term", 0) }
func (m *fakeMsg) InProgress() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.progress++
	return nil
}

func (m *fakeMsg) ack(kind string, d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.acks) > 0 {
		return jetstream.ErrMsgAlreadyAckd
	}
	m.acks, m.delay = append(m.acks, kind), d
	return nil
}

// settled returns the acknowledgement sent ("" for none) and the delay of
// a nak.
func (m *fakeMsg) settled() (string, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.acks) == 0 {
		return "", 0
	}
	return m.acks[0], m.delay
}

// fakeKV is a bucket in memory.
type fakeKV struct {
	jetstream.KeyValue
	mu     sync.Mutex
	m      map[string][]byte
	getErr error // what Get returns, when set
}

// errBucketDown is the error of a fake bucket that does not answer.
var errBucketDown = errors.New("bucket down")

func (kv *fakeKV) setGetErr(err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.getErr = err
}

type fakeEntry struct {
	jetstream.KeyValueEntry
	v []byte
}

func (e fakeEntry) Value() []byte { return e.v }

func (kv *fakeKV) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.getErr != nil {
		return nil, kv.getErr
	}
	v, ok := kv.m[key]
	if !ok {
		return nil, jetstream.ErrKeyNotFound
	}
	return fakeEntry{v: v}, nil
}

func (kv *fakeKV) Put(_ context.Context, key string, v []byte) (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.m == nil {
		kv.m = map[string][]byte{}
	}
	kv.m[key] = append([]byte(nil), v...)
	return uint64(len(kv.m)), nil
}

func (kv *fakeKV) Delete(_ context.Context, key string, _ ...jetstream.KVDeleteOpt) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	delete(kv.m, key)
	return nil
}

func (kv *fakeKV) get(key string) []byte {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.m[key]
}

// fakeConsumer is a consumer that only describes itself.
type fakeConsumer struct {
	jetstream.Consumer
	info jetstream.ConsumerInfo
}

func newFakeConsumer(cfg jetstream.ConsumerConfig) *fakeConsumer {
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	return &fakeConsumer{info: jetstream.ConsumerInfo{Stream: "S", Name: "C", Config: cfg}}
}

func (c *fakeConsumer) CachedInfo() *jetstream.ConsumerInfo { return &c.info }

// fakeJS is a JetStream context without a connection (terminations carry
// no reason). Its dead-letter stream "DEAD" captures every subject but
// "S.jobs" and keeps what is published, unless down.
type fakeJS struct {
	jetstream.JetStream
	dead *deadLetters
}

type deadLetters struct {
	mu   sync.Mutex
	msgs []*nats.Msg
	down bool
}

func (fakeJS) Conn() *nats.Conn { return nil }

func (fakeJS) StreamNameBySubject(_ context.Context, subj string) (string, error) {
	if subj == "S.jobs" {
		return "S", nil
	}
	return "DEAD", nil
}

func (js fakeJS) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	js.dead.mu.Lock()
	defer js.dead.mu.Unlock()
	if js.dead.down {
		return nil, nats.ErrNoResponders
	}
	js.dead.msgs = append(js.dead.msgs, m)
	return &jetstream.PubAck{Stream: "DEAD", Sequence: uint64(len(js.dead.msgs))}, nil
}

func (d *deadLetters) setDown(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
}

func (d *deadLetters) all() []*nats.Msg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*nats.Msg(nil), d.msgs...)
}
