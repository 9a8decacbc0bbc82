package timeout

// Waker wakes one task. In the chapter it puts the task back on the
// executor's run queue (06-full-runtime/waker.go); here it only counts, so
// that the tests can see whether a timer woke the task that waits for it.
// There is nothing to change in this file.
type Waker struct {
	wakes int // calls of Wake
}

// Wake wakes the waker's task. A nil Waker wakes nobody: a future polled
// with an empty Context cannot be woken.
func (w *Waker) Wake() {
	if w != nil {
		w.wakes++
	}
}
