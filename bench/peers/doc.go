// Package peers holds the production event loops that chapter 06 is
// measured against, written by us on their public APIs: gnet (Go) in
// ./gnet, and tokio's current-thread runtime (Rust) in ./tokio. It is a
// module of its own, so that the tutorial's go.mod keeps only
// golang.org/x/sys and testify: go run ./bench builds these when it can
// and says so in one line when it cannot.
package peers
