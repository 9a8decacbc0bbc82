//go:build linux

package async_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ExampleSpawn() {
	rt, err := async.NewRuntime(async.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close()

	// square is work that takes a while: a sleep, then a result.
	square := func(n int) async.Future[int] {
		return async.Map(rt.Sleep(time.Duration(n)*time.Millisecond), func(struct{}) int {
			return n * n
		})
	}
	// Each Spawn starts a task of its own; the two sleep side by side.
	a := async.Spawn(rt, "square 3", square(3))
	b := async.Spawn(rt, "square 4", square(4))

	// A JoinHandle is a future too: Join awaits both, and BlockOn runs
	// the loop until that is done.
	both, err := async.BlockOn(rt, "join", async.Join(a, b))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(both.A.Value, both.B.Value)
	// Output: 9 16
}

func ExampleTimeout() {
	rt, err := async.NewRuntime(async.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close()

	// work finishes with what after d.
	work := func(d time.Duration, what string) async.Future[string] {
		return async.Map(rt.Sleep(d), func(struct{}) string { return what })
	}

	// Within the limit: the result.
	r, _ := async.BlockOn(rt, "quick", async.Timeout(rt, time.Second, work(time.Millisecond, "done")))
	fmt.Printf("%q %v\n", r.Value, r.Err)

	// Over the limit: ErrTimeout, and the work is dropped (its timer too).
	r, _ = async.BlockOn(rt, "slow", async.Timeout(rt, 10*time.Millisecond, work(time.Hour, "done")))
	fmt.Printf("%q %v\n", r.Value, r.Err)
	// Output:
	// "done" <nil>
	// "" timed out: i/o timeout
}

func ExampleListener() {
	rt, err := async.NewRuntime(async.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close()
	ln, err := rt.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	// A client, with Go's net package, on a goroutine of its own: it
	// sends a line and reports what comes back.
	reply := make(chan string)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			reply <- err.Error()
			return
		}
		fmt.Fprintln(c, "hello")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			line = err.Error()
		}
		reply <- line
	}()

	// The server: accept a connection, then echo one line on it.
	accepted, err := async.BlockOn(rt, "accept", ln.Accept())
	if err == nil {
		err = accepted.Err
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	c := accepted.Value
	defer c.Close()
	echo := async.Then(c.ReadLine(1024), func(line async.Result[[]byte]) async.Future[async.Result[int]] {
		return c.WriteAll(line.Value) // at EOF, line.Value is empty: nothing to echo
	})
	if _, err := async.BlockOn(rt, "echo", echo); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print("the client got back: ", <-reply)
	// Output: the client got back: hello
}

// TestExamplesCloseEverything runs the examples, their output thrown
// away, and checks that they leave no descriptor open: they are what a
// reader copies.
func TestExamplesCloseEverything(t *testing.T) {
	for name, example := range map[string]func(){
		"ExampleSpawn":    ExampleSpawn,
		"ExampleTimeout":  ExampleTimeout,
		"ExampleListener": ExampleListener,
	} {
		t.Run(name+" leaves no descriptor open", func(t *testing.T) {
			stdout := os.Stdout
			r, w, err := os.Pipe()
			require.NoError(t, err, "pipe")
			out := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(r)
				out <- b
			}()
			before := async.OpenFDs(t)
			os.Stdout = w
			example()
			os.Stdout = stdout
			after := async.OpenFDs(t)
			w.Close()
			assert.NotEmpty(t, <-out, "the example printed")
			r.Close()
			assert.Equal(t, before, after, "open descriptors after the example")
		})
	}
}
