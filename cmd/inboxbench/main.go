// Command inboxbench is inboxd's load tool: it drives a running daemon on
// this machine (webhook ingest, journal reads, SSE fan-out) and bulk-loads
// a database through the store, printing throughput and latency
// percentiles. It only ever talks to 127.0.0.1/localhost.
//
//	inboxbench ingest  [flags]   concurrent signed webhook posts, then an exactly-once check
//	inboxbench seed    [flags]   bulk-load conversations and messages into a database
//	inboxbench journal [flags]   journal page latencies: first, deep, each filter, search
//	inboxbench fanout  [flags]   SSE subscribers' delay from acknowledgement to event
//	inboxbench replay  [flags]   a live feed's replay latency from a resume point
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `inboxbench — load tool for inboxd (127.0.0.1/localhost targets only)

Usage:
  inboxbench ingest  [flags]   N senders post signed webhook messages across M contacts,
                               then check through the API that each acknowledged one is stored once
  inboxbench seed    [flags]   bulk-load conversations and messages directly through the store
  inboxbench journal [flags]   p50/p95/p99 of journal pages: first, deep (cursor), each filter, search
  inboxbench fanout  [flags]   K SSE subscribers on the journal feed while ingesting at a fixed rate
  inboxbench replay  [flags]   p50/p99 of a live feed's replay from a resume point

Run "inboxbench <command> --help" for a command's flags. See docs/PERFORMANCE.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "inboxbench:", err)
		os.Exit(1)
	}
}

// errFailed marks a run that completed but found a problem (lost or
// duplicated messages): the figures are printed, the exit status is 1.
var errFailed = errors.New("check failed")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "ingest":
		return ingestCmd(ctx, rest, stdout, stderr)
	case "seed":
		return seedCmd(ctx, rest, stdout, stderr)
	case "journal":
		return journalCmd(ctx, rest, stdout, stderr)
	case "fanout":
		return fanoutCmd(ctx, rest, stdout, stderr)
	case "replay":
		return replayCmd(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlags returns a flag set whose --help prints the command's summary
// and flags.
func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: inboxbench %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and refuses stray positional arguments, which
// are almost always a mistyped flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags are --name value)", fs.Name(), fs.Arg(0))
	}
	return nil
}
