package readline

// Waker wakes one task. In the chapter it puts the task back on the
// executor's run queue (06-full-runtime/waker.go); here it only counts, and
// the tests look at which waker a Conn was handed. There is nothing to
// change in this file.
type Waker struct {
	wakes int // calls of Wake
}

// Wake wakes the waker's task. A nil Waker wakes nobody.
func (w *Waker) Wake() {
	if w != nil {
		w.wakes++
	}
}
