package gitfs

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errMissing marks an object the repository does not have (a partial
// clone, a deleted loose object): the path exists in the tree, its content
// does not.
var errMissing = errors.New("git object is missing from the repository")

// catFile is one long-running `git cat-file --batch`, shared by every
// reader of an FS: starting git costs milliseconds, a request on a running
// one tens of microseconds. It is started on first use and started again
// after it dies (a corrupt object makes git exit mid-answer), so that one
// bad object fails only its own reads.
type catFile struct {
	dir string

	// turn is held (a value in it) by whoever exchanges with git, one at a
	// time as answers come in order: a channel, not a mutex, so that a
	// reader can wait for its turn or for its answer, whichever comes first.
	turn   chan struct{}
	p      *catProc // nil before first use and after a failure
	closed bool

	qmu   sync.Mutex // guards queue
	queue []*request // reads waiting for mu
}

// newCatFile returns the reader of objects of the repository at dir; git
// starts on the first read.
func newCatFile(dir string) *catFile {
	return &catFile{dir: dir, turn: make(chan struct{}, 1)}
}

func (c *catFile) lock()   { c.turn <- struct{}{} }
func (c *catFile) unlock() { <-c.turn }

// catProc is one running git process and its pipes.
type catProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr *bytes.Buffer // read only after cmd.Wait, which ends the copying
}

// answer is the outcome of one request: the object's bytes or why not.
type answer struct {
	data []byte
	err  error
}

// request is one read waiting for its answer, which is set before done
// is closed.
type request struct {
	oid  string
	a    answer
	done chan struct{}
}

// read returns the contents of blob oid. Reads from many goroutines at
// once are coalesced: whichever holds the process next sends every read
// queued meanwhile in one exchange, so that they cost one round trip
// rather than one each.
func (c *catFile) read(oid string) ([]byte, error) {
	r := &request{oid: oid, done: make(chan struct{})}
	c.qmu.Lock()
	c.queue = append(c.queue, r)
	c.qmu.Unlock()
	select {
	case <-r.done: // another reader's exchange answered it
	case c.turn <- struct{}{}:
		select {
		case <-r.done:
		default:
			c.serveQueue() // r is still queued: only the turn's holder takes the queue
		}
		c.unlock()
	}
	return r.a.data, r.a.err
}

// serveQueue answers every queued request; the caller has the turn.
func (c *catFile) serveQueue() {
	c.qmu.Lock()
	batch := c.queue
	c.queue = nil
	c.qmu.Unlock()
	oids := make([]string, len(batch))
	for i, r := range batch {
		oids[i] = r.oid
	}
	answered := 0
	err := c.exchange(oids, func(i int, a answer) { batch[i].a, answered = a, i+1 })
	for _, r := range batch[answered:] {
		r.a.err = err
	}
	for _, r := range batch {
		close(r.done)
	}
}

// readMany asks for every oid in one exchange and calls each with the
// answers, in order. The error is for the process (it died, or the FS is
// closed): answers not received by then are not reported.
func (c *catFile) readMany(oids []string, each func(i int, a answer)) error {
	c.lock()
	defer c.unlock()
	return c.exchange(oids, each)
}

// exchange sends the requests for oids and reads their answers; the
// caller has the turn. Many requests are written by another goroutine while this one
// reads: written first, the answers would fill the pipe and git would stop
// reading requests. A few fit in the pipe's buffer.
func (c *catFile) exchange(oids []string, each func(i int, a answer)) error {
	if c.closed {
		return fmt.Errorf("git cat-file: %w", fs.ErrClosed)
	}
	if c.p == nil {
		p, err := startCatFile(c.dir)
		if err != nil {
			return err
		}
		c.p = p
	}
	p := c.p
	written := make(chan error, 1)
	if len(oids) <= 64 {
		written <- p.request(oids)
	} else {
		go func() { written <- p.request(oids) }()
	}
	for i, oid := range oids {
		a, err := p.answer(oid)
		if err != nil {
			c.p = nil
			err = p.fail(err)
			<-written // the dead process closed the pipe: the writer returns
			return err
		}
		each(i, a)
	}
	if err := <-written; err != nil {
		c.p = nil
		return p.fail(err)
	}
	return nil
}

// request writes one line per object id and flushes them.
func (p *catProc) request(oids []string) error {
	for _, oid := range oids {
		p.w.WriteString(oid)
		p.w.WriteByte('\n')
	}
	return p.w.Flush()
}

// answer reads the answer to a request for oid: "<oid> blob <size>\n",
// the bytes, "\n"; or "<oid> missing\n". The error is for the protocol; an
// object git does not have is in the answer.
func (p *catProc) answer(oid string) (answer, error) {
	line, err := p.r.ReadString('\n')
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer for %s: %w", oid, err)
	}
	f := strings.Fields(line)
	switch {
	case len(f) == 2 && f[0] == oid && f[1] == "missing":
		return answer{err: fmt.Errorf("%s: %w", oid, errMissing)}, nil
	case len(f) != 3 || f[0] != oid:
		return answer{}, fmt.Errorf("unexpected answer %q for %s", strings.TrimSpace(line), oid)
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return answer{}, fmt.Errorf("unexpected answer %q for %s", strings.TrimSpace(line), oid)
	}
	data, err := readN(p.r, size+1) // and the newline that ends every answer
	if err != nil || data[size] != '\n' {
		return answer{}, fmt.Errorf("reading %s (%d bytes): %w", oid, size, cmp.Or(err, errors.New("no newline after it")))
	}
	if f[1] != "blob" {
		return answer{err: fmt.Errorf("%s is a %s, not a blob", oid, f[1])}, nil
	}
	return answer{data: data[:size:size]}, nil
}

// readN reads exactly n bytes. It allocates them at once up to 64 MiB,
// beyond that as they arrive, so that a size that is a lie (or a process
// dying mid-answer) costs no more memory than the bytes that came.
func readN(r io.Reader, n int64) ([]byte, error) {
	const prealloc = 64 << 20
	if n <= prealloc {
		data := make([]byte, n)
		_, err := io.ReadFull(r, data)
		return data, err
	}
	var buf bytes.Buffer
	buf.Grow(prealloc)
	if _, err := io.CopyN(&buf, r, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// startCatFile starts git cat-file --batch in dir.
func startCatFile(dir string) (*catProc, error) {
	cmd := exec.Command("git", "-C", dir, "cat-file", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	p := &catProc{cmd: cmd, stdin: stdin, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting git cat-file: %w", err)
	}
	p.w = bufio.NewWriterSize(stdin, 64<<10)
	p.r = bufio.NewReaderSize(stdout, 64<<10)
	return p, nil
}

// fail stops a process that broke the protocol and returns err with what
// git said on stderr.
func (p *catProc) fail(err error) error {
	p.cmd.Process.Kill()
	p.stdin.Close()
	p.cmd.Wait()
	if msg := strings.TrimSpace(p.stderr.String()); msg != "" {
		return fmt.Errorf("git cat-file: %w (git: %s)", err, msg)
	}
	return fmt.Errorf("git cat-file: %w", err)
}

// stop ends a healthy process: git exits when its input ends. One that
// does not within a second is killed, so Close never hangs.
func (p *catProc) stop() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		return nil
	case <-time.After(time.Second):
		p.cmd.Process.Kill()
		<-done
		return errors.New("git cat-file did not exit when its input closed; killed")
	}
}

// close stops the process for good; it is safe to call twice.
func (c *catFile) close() error {
	c.lock()
	defer c.unlock()
	c.closed = true
	p := c.p
	c.p = nil
	if p == nil {
		return nil
	}
	return p.stop()
}
