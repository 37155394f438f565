// Command inboxd is the omnichannel inbox daemon.
//
//	inboxd serve [--config FILE]
//	inboxd migrate [--config FILE]
//	inboxd user add --email E --name N --role owner|admin|agent [--queues q1,q2] --password-stdin [--config FILE]
//	inboxd config check [--config FILE]
//	inboxd channels register CHANNEL [--config FILE]
//	inboxd contacts export|erase --email E | --channel C --id X [--config FILE]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // opening hours must not depend on the host's zoneinfo

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
)

const usage = `inboxd — omnichannel inbox daemon

Usage:
  inboxd serve [--config FILE]              run the daemon (no config: SQLite in ./data, one widget channel)
  inboxd migrate [--config FILE]            apply database migrations and exit
  inboxd user add --email E --name N --role owner|admin|agent [--queues a,b] --password-stdin [--config FILE]
  inboxd config check [--config FILE]       validate the config and print it with secrets masked
  inboxd channels register CHANNEL [--config FILE]
                                            register a channel's webhook with its provider (Viber),
                                            or print the URL to paste (Telegram, Meta, WhatsApp)
  inboxd contacts export|erase --email E | --channel C --id X [--config FILE]
                                            print a person's data as JSON, or erase it everywhere
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "inboxd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a subcommand is required")
	}
	cmd, rest := args[0], args[1:]
	switch {
	case cmd == "serve":
		return serve(ctx, rest)
	case cmd == "migrate":
		return migrate(ctx, rest, stdout)
	case cmd == "user" && len(rest) > 0 && rest[0] == "add":
		return userAdd(ctx, rest[1:], stdin, stdout)
	case cmd == "config" && len(rest) > 0 && rest[0] == "check":
		return configCheck(rest[1:], stdout)
	case cmd == "channels" && len(rest) > 0 && rest[0] == "register":
		return channelsRegister(ctx, rest[1:], stdout)
	case cmd == "contacts" && len(rest) > 0 && (rest[0] == "export" || rest[0] == "erase"):
		return contacts(ctx, rest[0], rest[1:], stdout)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

func flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return fs, fs.String("config", "", "config file (YAML); none: defaults")
}

func load(path string) (*daemon.Config, error) {
	cfg, err := daemon.Load(path, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string) error {
	fs, path := flags("serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	if err := startPprof(); err != nil {
		return err
	}
	return daemon.Run(ctx, cfg, daemon.Options{})
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := flags("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	log := daemon.NewLogger(cfg, os.Stderr)
	st, err := daemon.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database (%s) is at schema version %d\n", st.Dialect(), v)
	return nil
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs, path := flags("user add")
	email := fs.String("email", "", "the user's email (login)")
	name := fs.String("name", "", "the user's display name")
	role := fs.String("role", "agent", "owner, admin or agent")
	queues := fs.String("queues", "", "comma-separated queues an agent serves (empty: all)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case !strings.Contains(*email, "@"):
		return errors.New("--email: must be an email address")
	case strings.TrimSpace(*name) == "":
		return errors.New("--name: is required")
	case !inbox.Role(*role).Valid():
		return errors.New("--role: must be owner, admin or agent")
	case !*fromStdin:
		return errors.New("--password-stdin: is required (the password is never taken from the command line)")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	hash, err := api.HashPassword(strings.TrimRight(line, "\r\n"), 0)
	if err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	st, err := daemon.OpenStore(ctx, cfg, daemon.NewLogger(cfg, os.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	u := &inbox.User{Email: strings.ToLower(*email), Name: strings.TrimSpace(*name), Role: inbox.Role(*role),
		CreatedAt: inbox.SystemClock{}.Now()}
	for _, q := range strings.Split(*queues, ",") {
		if q = strings.TrimSpace(q); q != "" {
			u.Queues = append(u.Queues, q)
		}
	}
	if err := st.CreateUser(ctx, u, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Email, u.ID)
	if u.Role == inbox.RoleAgent && len(u.Queues) == 0 {
		// An agent without queues is not an agent of none: it serves all.
		fmt.Fprintln(stdout, "note: no --queues given: this agent serves EVERY queue (all their conversations);"+
			" to limit it, create it with --queues q1,q2")
	}
	return nil
}

func configCheck(args []string, stdout io.Writer) error {
	fs, path := flags("config check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	// Every channel's own keys are validated by its adapter.
	if err := daemon.CheckChannels(cfg); err != nil {
		return fmt.Errorf("invalid config:\n%w", err)
	}
	fmt.Fprintln(stdout, "config OK")
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false) // URLs' "&" as they are written
	enc.SetIndent("", "  ")
	return enc.Encode(cfg.Masked())
}

// registrar is a channel that registers its webhook with the provider.
type registrar interface {
	RegisterWebhook(ctx context.Context) (string, error)
}

func channelsRegister(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := flags("channels register")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("name one channel: inboxd channels register CHANNEL")
	}
	id := fs.Arg(0)
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	chans, err := daemon.OfflineChannels(cfg, daemon.NewLogger(cfg, os.Stderr))
	if err != nil {
		return err
	}
	ch, ok := chans[id]
	if !ok {
		return fmt.Errorf("no channel %q in the config", id)
	}
	if r, ok := ch.(registrar); ok {
		url, err := r.RegisterWebhook(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "registered %s webhook: %s\n", ch.Kind(), url)
		return nil
	}
	if _, ok := ch.(adapters.Hook); !ok {
		return fmt.Errorf("channel %q (%s) takes no webhooks", id, ch.Kind())
	}
	if cfg.PublicURL == "" {
		return errors.New("public_url: is required to tell the webhook URL")
	}
	seg := ch.Kind()
	if seg == "messenger" || seg == "instagram" {
		seg = "meta"
	}
	fmt.Fprintf(stdout, "paste this URL into the provider's webhook settings:\n%s/hooks/%s/%s\n", strings.TrimSuffix(cfg.PublicURL, "/"), seg, id)
	if ch.Kind() == "telegram" {
		fmt.Fprintln(stdout, "(Telegram in webhook mode registers itself when inboxd starts.)")
	}
	return nil
}

// reorder puts flags before positional arguments, so that
// "register vb --config x.yaml" works as well as the other order.
func reorder(args []string) []string {
	var fl, pos []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			fl = append(fl, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				fl = append(fl, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, args[i])
	}
	return append(fl, pos...)
}
