package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Outputs of go test, cut from real runs (paths shortened).
func TestFirstFailure(t *testing.T) {
	for _, tc := range []struct{ what, output, want string }{
		{
			what: "a stub's TODO panic shows the TODO",
			output: "--- FAIL: TestClassifyRealReads (0.00s)\n" +
				"    --- FAIL: TestClassifyRealReads/bytes_waiting_in_the_socket_are_Data (0.00s)\n" +
				"panic: TODO(01-busy-loop/classify): map the read result to a Result [recovered, repanicked]\n\n" +
				"goroutine 9 [running]:\n",
			want: "TODO(01-busy-loop/classify): map the read result to a Result",
		},
		{
			what: "a TODO panic that a test recovered and reported shows the TODO",
			output: "--- FAIL: TestWake (0.00s)\n" +
				"    --- FAIL: TestWake/many_wakes (0.00s)\n" +
				"        waker_test.go:34: \n" +
				"            \tError Trace:\t/x/waker_test.go:34\n" +
				"            \tError:      \tExpected nil, but got: \"TODO(05-wakers/waker): queue the task once\"\n" +
				"            \tTest:       \tTestWake/many_wakes\n" +
				"            \tMessages:   \tWake from 8 goroutines panicked\n",
			want: "TODO(05-wakers/waker): queue the task once",
		},
		{
			what: "testify: the subtest as a sentence, the message, and what was expected",
			output: "--- FAIL: TestWake (0.00s)\n" +
				"    --- FAIL: TestWake/many_wakes_queue_it_once (0.00s)\n" +
				"        waker_test.go:40: \n" +
				"            \tError Trace:\t/x/waker_test.go:40\n" +
				"            \t            \t\t\t\t/x/helpers_test.go:12\n" +
				"            \tError:      \tNot equal: \n" +
				"            \t            \texpected: 0\n" +
				"            \t            \tactual  : 200\n" +
				"            \tTest:       \tTestWake/many_wakes_queue_it_once\n" +
				"            \tMessages:   \tnotify calls, with the loop awake (not sleeping)\n" +
				"    --- FAIL: TestWake/another (0.00s)\n",
			want: "many wakes queue it once: notify calls, with the loop awake (not sleeping): Not equal: expected: 0 actual : 200",
		},
		{
			what:   "t.Errorf",
			output: "--- FAIL: TestDouble (0.00s)\n    double_test.go:7: Double(2) = 5, want 4\nFAIL\n",
			want:   "TestDouble: Double(2) = 5, want 4",
		},
		{
			what:   "a compile error",
			output: "# example/join [example/join.test]\n03-futures/join/join.go:61:9: undefined: ReadyX\nFAIL\texample/join [build failed]\n",
			want:   "does not compile: 03-futures/join/join.go:61:9: undefined: ReadyX",
		},
		{
			what:   "a hang, cut off by the timeout",
			output: "panic: test timed out after 2m0s\n\trunning tests:\n",
			want:   "panic: test timed out after 2m0s",
		},
		{
			what:   "anything else: the last line",
			output: "go: cannot find main module\n",
			want:   "go: cannot find main module",
		},
	} {
		assert.Equal(t, tc.want, firstFailure(tc.output), tc.what)
	}
}
