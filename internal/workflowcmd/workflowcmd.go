// Package workflowcmd keeps text that kustomatrix prints to a GitHub
// Actions job log — kubectl's output, diffs of manifests, object names —
// from being read as workflow commands.
//
// The runner scans every line a step prints: a line that starts with "::"
// (after spaces) is a command (::add-mask::, ::notice::, ::error::,
// ::stop-commands::, ...), and so is "##[...]" anywhere in a line. A pull
// request controls manifests, so a diff line like "::add-mask::x" or
// "::error file=...::forged" would otherwise become a command. Between
// "::stop-commands::TOKEN" and "::TOKEN::" the runner processes none, and
// TOKEN, random per region, is not in the text to end the region early.
//
// The runner reads stdout and stderr through separate pipes and does not
// keep their order, so a region opened on one stream does not cover lines
// written to the other: Streams therefore sends both through one.
package workflowcmd

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"sync"
)

// EnvVar names the environment variable that turns the guard on: the
// project's root action sets it to "true" for every kustomatrix it runs,
// where the output goes to a job log and nothing reads it as data. It is
// not keyed on GITHUB_ACTIONS alone: a user's own step may pipe kustomatrix
// into a file or a program, and tests run inside Actions too.
const EnvVar = "KUSTOMATRIX_STOP_COMMANDS"

// Enabled reports whether the output of this process goes to a job log and
// must be guarded (EnvVar is "true").
func Enabled() bool { return os.Getenv(EnvVar) == "true" }

// NewToken returns a fresh stop token: 32 random hex digits, which no
// registered command is named and no text can guess.
func NewToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("workflowcmd: no randomness: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return "kustomatrix-" + hex.EncodeToString(b[:])
}

// Writer writes to a job log inside a stop-commands region: the first
// write opens it ("::stop-commands::TOKEN"), Close ends it ("::TOKEN::",
// on a line of its own). Nothing written in between is a command. A Writer
// that was never written to prints nothing. It is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	token  string
	open   bool
	closed bool
	bol    bool // the last byte written ended a line (or nothing was written)
}

// NewWriter returns a Writer to w with a fresh token.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, token: NewToken(), bol: true}
}

// Write writes p inside the region, opening it first if needed. After
// Close, p goes to the underlying writer as it is.
func (c *Writer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if !c.open && !c.closed {
		if err := c.line("::stop-commands::" + c.token); err != nil {
			return 0, err
		}
		c.open = true
	}
	n, err := c.w.Write(p)
	if n > 0 {
		c.bol = p[n-1] == '\n'
	}
	return n, err
}

// line writes s on a line of its own.
func (c *Writer) line(s string) error {
	if !c.bol {
		s = "\n" + s
	}
	_, err := io.WriteString(c.w, s+"\n")
	if err == nil {
		c.bol = true
	}
	return err
}

// Close ends the region, if one was opened; later writes are not covered.
// It never closes the underlying writer.
func (c *Writer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.open {
		return nil
	}
	return c.line("::" + c.token + "::")
}

// Wrap returns a writer to w whose output is inside one stop-commands
// region, and the function that ends it (call it once everything is
// written, before the process exits).
func Wrap(w io.Writer) (io.Writer, func()) {
	c := NewWriter(w)
	return c, func() { _ = c.Close() }
}

// Streams returns a command's stdout and stderr for a job log: both write
// to out (a step's stdout), through one region — the runner does not keep the order of lines
// between the two pipes, so a region on one would not cover the other —
// a whole line at a time, so lines of the two never mix. The function
// returned ends the region: call it after the last write (the error
// message included), before the process exits.
func Streams(out io.Writer) (stdout, stderr io.Writer, done func()) {
	c := NewWriter(out)
	o, e := &lineWriter{w: c}, &lineWriter{w: c}
	return o, e, func() {
		o.flush()
		e.flush()
		_ = c.Close()
	}
}

// lineWriter passes whole lines to w, holding back a partial last line
// until it is completed or flushed.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		if _, err := l.w.Write(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = l.w.Write(l.buf)
		l.buf = nil
	}
}
