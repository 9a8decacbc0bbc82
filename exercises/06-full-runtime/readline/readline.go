// Package readline is chapter 06's bounded line reader: ReadLine, a future
// for the next line from a connection, which never holds more than a fixed
// amount of memory for a client, whatever the client sends.
//
// An echo server reads lines. A line arrives in as many pieces as the
// network likes: half a line in one read, three lines in the next. So the
// connection keeps what it has read and not yet returned, and ReadLine
// looks there first. And a client may send a line that never ends: 10 MiB
// with no newline, or more. A reader that waits for the newline before it
// looks at the length holds all of it; the server dies of memory one
// client at a time. ReadLine gives up as soon as the line has passed its
// limit, having read at most one read more than that.
package readline

// ReadLine returns a future for the next line, '\n' included. The line is
// valid until the next read on c. A final line without '\n' comes with
// io.EOF; after it, (nil, io.EOF). A line of more than max bytes is
// ErrLineTooLong: it is not returned, and at most max bytes of it plus one
// read are ever held in memory.
func (c *Conn) ReadLine(max int) Future[Result[[]byte]] {
	return &readLineFuture{c: c, max: max}
}

type readLineFuture struct {
	c       *Conn
	max     int
	scanned int  // bytes of c.in already searched for '\n': a new read needs only its own bytes searched
	done    bool // Ready was returned; polling again is a bug
}

// Poll returns the next line as soon as c.in holds one, reading more only
// when it does not:
//
//   - a line comes with its '\n', and the bytes after it stay in c.in for
//     the next ReadLine;
//   - a line of more than max bytes, '\n' included, is ErrLineTooLong, and
//     c.in never holds more than max bytes plus one read of a line that has
//     no '\n' yet, whatever the peer sends;
//   - once the peer has shut its side (c.eof), what c.in still holds comes
//     with io.EOF, and after that (nil, io.EOF), with no read;
//   - a read that says EAGAIN hands the task's waker over (c.wakeOn) and
//     ends the poll with Pending; any other read error ends ReadLine.
//
// Finish with r.finish. Polling again after Ready panics with
// "ReadLine: polled after it returned Ready".
func (r *readLineFuture) Poll(cx *Context) Poll[Result[[]byte]] {
	// TODO(06-full-runtime/readline): keep the rules above: look before you
	// read, refuse a line before you have read too much of it, and never
	// read again before the waker you handed over has run.
	panic("TODO(06-full-runtime/readline): return the next line from c.in, reading more while there is none; refuse a line over max before reading more; io.EOF at the end; on EAGAIN hand over the waker and return Pending")
}

// finish ends the future with line and err.
func (r *readLineFuture) finish(line []byte, err error) Poll[Result[[]byte]] {
	r.done = true
	return Ready(Result[[]byte]{Value: line, Err: err})
}
