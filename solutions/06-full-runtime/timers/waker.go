package timers

// Waker wakes one task. In the chapter it puts the task back on the
// executor's run queue (06-full-runtime/waker.go); here it calls a function
// the test chooses, so the tests can see whom the timers wake, and in what
// order. There is nothing to change in this file.
type Waker struct {
	wake func()
}

// Wake wakes the waker's task. A nil Waker wakes nobody.
func (w *Waker) Wake() {
	if w != nil && w.wake != nil {
		w.wake()
	}
}
