package core

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// tailBytes and tailLines bound the end of stderr quoted in an error.
const (
	tailBytes = 4 << 10
	tailLines = 20
)

// capture is an io.Writer that keeps the first max bytes written (the
// output) and the last tailBytes (for error messages), and counts the rest.
type capture struct {
	max   int
	head  []byte
	tail  []byte
	total int64
}

func newCapture(limit int) *capture { return &capture{max: limit} }

func (w *capture) Write(p []byte) (int, error) {
	w.total += int64(len(p))
	if room := w.max - len(w.head); room > 0 {
		w.head = append(w.head, p[:min(room, len(p))]...)
	}
	w.tail = append(w.tail, p...)
	if len(w.tail) > 2*tailBytes {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-tailBytes:]...)
	}
	return len(p), nil
}

// truncated reports whether more than max bytes were written.
func (w *capture) truncated() bool { return w.total > int64(w.max) }

// String is the kept output, made valid UTF-8, with a marker when it was
// cut.
func (w *capture) String() string { return capped(w.head, w.truncated(), w.max) }

// capped renders the first max bytes of an output, followed by the
// truncation marker when there was more.
func capped(head []byte, truncated bool, limit int) string {
	if !truncated {
		return validUTF8(head)
	}
	return validUTF8(trimPartialRune(head)) + fmt.Sprintf("\n[... output truncated at %d bytes]", limit)
}

// Tail returns the last lines of the output (at most tailLines lines and
// tailBytes bytes), trimmed.
func (w *capture) Tail() string {
	t := w.tail
	cut := false
	if len(t) > tailBytes {
		t, cut = t[len(t)-tailBytes:], true
	}
	t = bytes.TrimRight(t, "\r\n\t ")
	lines := strings.Split(validUTF8(t), "\n")
	if len(lines) > tailLines {
		lines, cut = lines[len(lines)-tailLines:], true
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	if cut {
		lines[0] = "..." + lines[0]
	}
	return strings.Join(lines, "\n")
}

// validUTF8 turns bytes into a string cty can carry: invalid sequences
// (binary output) become U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, left
// by cutting a stream at a byte count.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// snippet returns the start of a body for an error message.
func snippet(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) <= n {
		return validUTF8(b)
	}
	return validUTF8(trimPartialRune(b[:n])) + "..."
}

// lineWriter is an io.Writer that calls emit for every complete line
// written (cut at maxLineBytes), and for the last partial line on flush.
type lineWriter struct {
	emit func(line string)
	buf  []byte
}

const maxLineBytes = 1 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4*maxLineBytes {
		// A very long line: report its start, drop the rest.
		w.line(w.buf)
		w.buf = w.buf[:0]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

func (w *lineWriter) line(b []byte) {
	b = bytes.TrimRight(b, "\r")
	if len(b) > maxLineBytes {
		w.emit(validUTF8(trimPartialRune(b[:maxLineBytes])) + "...")
		return
	}
	w.emit(validUTF8(b))
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line(w.buf)
		w.buf = nil
	}
}
