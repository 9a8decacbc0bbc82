// Listen runs a chapter's server with -listen, talks to it the way a
// reader would with nc from a second terminal, and stops it with SIGINT,
// as Ctrl-C does, so that the summary it prints at the end can be read:
//
//	go run ./experiments/listen -chapter 02-epoll 'hello, reactor' 'second line'
//
// Each argument is sent as one line; then the client half-closes its side
// (as nc -N does) and reads the echo until the server closes. With no
// argument no client connects at all. -idle is how long the server is
// left serving before the SIGINT, and -threads lists the server's threads
// and the kernel function each one sleeps in (what ps -L -o
// tid,stat,wchan,comm shows), read from /proc.
//
// -flags passes more flags to the server, after -listen (as in
// -flags=-http, for chapter 06's HTTP server).
//
// Run it from the repository's root: it builds ./CHAPTER into a scratch
// folder first, so that the signal reaches the server itself and not the
// go command.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("listen", flag.ContinueOnError)
	chapter := flags.String("chapter", "01-busy-loop", "the chapter `FOLDER` whose program to run")
	idle := flags.Duration("idle", time.Second, "how long to leave the server serving, after the client is done, before the SIGINT")
	threads := flags.Bool("threads", false, "list the server's threads and the kernel function each one sleeps in")
	serverFlags := flags.String("flags", "", "more `FLAGS` for the server, after -listen (chapter 06: -flags=-http)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	lines := flags.Args()

	if _, err := os.Stat(filepath.Join(*chapter, "main.go")); err != nil {
		return fmt.Errorf("no chapter %q here: run this from the repository's root (%v)", *chapter, err)
	}
	scratch, err := os.MkdirTemp("", "listen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	bin := filepath.Join(scratch, filepath.Base(*chapter))
	build := exec.Command("go", "build", "-o", bin, "./"+*chapter)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./%s: %w", *chapter, err)
	}

	serverArgs := append([]string{"-listen", "127.0.0.1:0"}, strings.Fields(*serverFlags)...)
	fmt.Fprintf(out, "server: %s %s\n", filepath.Base(*chapter), strings.Join(serverArgs, " "))
	server := exec.Command(bin, serverArgs...)
	server.Stderr = os.Stderr
	stdout, err := server.StdoutPipe()
	if err != nil {
		return err
	}
	if err := server.Start(); err != nil {
		return err
	}
	defer server.Process.Kill() // if anything below fails; a no-op once it has exited

	// The first line says where it listens: "listening on ADDR; try: ...".
	serverOut := bufio.NewReader(stdout)
	first, err := serverOut.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the server's first line: %w", err)
	}
	fmt.Fprint(out, first)
	m := regexp.MustCompile(`^listening on (\S+);`).FindStringSubmatch(first)
	if m == nil {
		return fmt.Errorf("the server's first line does not say where it listens: %q", first)
	}

	if len(lines) > 0 {
		echo, err := talk(m[1], lines)
		if err != nil {
			return fmt.Errorf("client: %w", err)
		}
		fmt.Fprintf(out, "client: sent %d lines, half-closed, and read back until the server closed:\n%s", len(lines), echo)
	}
	time.Sleep(*idle)
	if *threads {
		fmt.Fprintf(out, "threads of the server, and where each one sleeps in the kernel:\n")
		if err := lab.PrintThreads(out, server.Process.Pid); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "SIGINT (as Ctrl-C), and the server prints its summary:\n")
	if err := server.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	if _, err := io.Copy(out, serverOut); err != nil {
		return err
	}
	return server.Wait()
}

// talk sends each line to addr, half-closes, and returns every byte that
// came back before the server closed the connection.
func talk(addr string, lines []string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, strings.Join(lines, "\n")+"\n"); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	echo, err := io.ReadAll(c)
	return string(echo), err
}
