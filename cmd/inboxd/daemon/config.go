package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox/hours"
)

// Config is the daemon's configuration: the YAML file of docs/DESIGN.md,
// with ${VAR} expanded from the environment and INBOXD_* overrides.
type Config struct {
	Listen         string        `yaml:"listen"`
	PublicURL      string        `yaml:"public_url"`
	DataDir        string        `yaml:"data_dir"`
	Database       DatabaseCfg   `yaml:"database"`
	BootstrapOwner OwnerCfg      `yaml:"bootstrap_owner"`
	ReopenWindow   time.Duration `yaml:"reopen_window"`
	Queues         []QueueCfg    `yaml:"queues"`
	Channels       []ChannelCfg  `yaml:"channels"`
	Notifications  NotifyCfg     `yaml:"notifications"`
	Presence       PresenceCfg   `yaml:"presence"`
	Log            LogCfg        `yaml:"log"`
	Limits         LimitsCfg     `yaml:"limits"`
	Outbox         OutboxCfg     `yaml:"outbox"`
	Events         EventsCfg     `yaml:"events"`
}

// DatabaseCfg selects the store.
type DatabaseCfg struct {
	URL string `yaml:"url"`
}

// OwnerCfg is the owner created on first start.
type OwnerCfg struct {
	Email    string `yaml:"email"`
	Name     string `yaml:"name"`
	Password string `yaml:"password"`
}

// QueueCfg is one customer queue.
type QueueCfg struct {
	ID            string          `yaml:"id"`
	Name          string          `yaml:"name"`
	Timezone      string          `yaml:"timezone"`
	Hours         HoursCfg        `yaml:"hours"`
	Holidays      []string        `yaml:"holidays"`
	Offline       OfflineCfg      `yaml:"offline"`
	OnlineMessage string          `yaml:"online_message"`
	SlowAfter     time.Duration   `yaml:"slow_after"`
	Schedule      *hours.Schedule `yaml:"-"`
}

// HoursCfg holds a queue's opening and closing cron expressions.
type HoursCfg struct {
	Open  string `yaml:"open"`
	Close string `yaml:"close"`
}

// OfflineCfg is what the widget shows while the queue is closed.
type OfflineCfg struct {
	Mode      string        `yaml:"mode"`
	Message   string        `yaml:"message"`
	Questions []QuestionCfg `yaml:"questions"`
}

// QuestionCfg is a contact form question.
type QuestionCfg struct {
	ID       string `yaml:"id"`
	Label    string `yaml:"label"`
	Required bool   `yaml:"required"`
}

// ChannelCfg is one channel; the kind-specific keys stay in node and are
// decoded by the channel's adapter.
type ChannelCfg struct {
	ID    string `yaml:"id"`
	Kind  string `yaml:"kind"`
	Name  string `yaml:"name"`
	Queue string `yaml:"queue"`
	node  yaml.Node
}

// UnmarshalYAML keeps the node for the adapter.
func (c *ChannelCfg) UnmarshalYAML(n *yaml.Node) error {
	type plain struct {
		ID    string `yaml:"id"`
		Kind  string `yaml:"kind"`
		Name  string `yaml:"name"`
		Queue string `yaml:"queue"`
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	c.ID, c.Kind, c.Name, c.Queue, c.node = p.ID, p.Kind, p.Name, p.Queue, *n
	return nil
}

// Decode decodes the channel's kind-specific keys into into, refusing
// keys that neither into nor the common fields know.
func (c *ChannelCfg) Decode(into any) error {
	if c.node.Kind == 0 {
		return nil
	}
	m := map[string]any{}
	if err := c.node.Decode(&m); err != nil {
		return err
	}
	for _, k := range []string{"id", "kind", "name", "queue"} {
		delete(m, k)
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, errEOF(err)) {
		return yamlKeyError(err)
	}
	return nil
}

func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return errors.New("not eof")
}

// yamlKeyError shortens yaml.v3's "line N: field x not found in type T".
func yamlKeyError(err error) error {
	s := err.Error()
	if m := unknownField.FindStringSubmatch(s); m != nil {
		return fmt.Errorf("%s: unknown key", m[1])
	}
	return errors.New(strings.TrimPrefix(s, "yaml: unmarshal errors:\n  "))
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type`)

var lineRef = regexp.MustCompile(`line (\d+): `)

// withLineKey adds the key written on the line a yaml error points at
// ("line 2 (reopen_window): cannot unmarshal ..."), since yaml.v3 names
// only the line.
func withLineKey(err error, text string) error {
	m := lineRef.FindStringSubmatchIndex(err.Error())
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(err.Error()[m[2]:m[3]])
	lines := strings.Split(text, "\n")
	if n < 1 || n > len(lines) {
		return err
	}
	key, _, ok := strings.Cut(strings.TrimLeft(lines[n-1], " -{"), ":")
	if !ok || key == "" || len(key) > 64 {
		return err
	}
	msg := err.Error()
	return errors.New(msg[:m[1]-2] + " (" + strings.TrimSpace(key) + ")" + msg[m[1]-2:])
}

// NotifyCfg configures agents' email notifications.
type NotifyCfg struct {
	SMTP SMTPCfg `yaml:"smtp"`
}

// SMTPCfg is an SMTP server.
type SMTPCfg struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
}

// PresenceCfg configures agent presence.
type PresenceCfg struct {
	IdleAfter time.Duration `yaml:"idle_after"`
}

// LogCfg configures logging.
type LogCfg struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// LimitsCfg bounds requests.
type LimitsCfg struct {
	MaxBody int64 `yaml:"max_body"` // bytes, default 1 MiB
	// FeedsPerUser caps a staff user's concurrent live feeds (all kinds
	// together); FeedsPerVisitor a widget visitor's. 429 beyond.
	FeedsPerUser    int `yaml:"feeds_per_user"`    // default 32
	FeedsPerVisitor int `yaml:"feeds_per_visitor"` // default 4
}

// OutboxCfg tunes reply delivery.
type OutboxCfg struct {
	MaxAttempts int           `yaml:"max_attempts"`
	BaseDelay   time.Duration `yaml:"base_delay"`
	MaxDelay    time.Duration `yaml:"max_delay"`
}

// EventsCfg bounds the events table, the live feeds' replay source.
type EventsCfg struct {
	// Retention is how long events are kept (default 7 days): a feed
	// that resumes after longer misses what was deleted.
	Retention time.Duration `yaml:"retention"`
}

// Default returns the configuration used without a file: embedded SQLite
// in ./data, one queue and one widget channel.
func Default() *Config {
	c := &Config{
		Queues:   []QueueCfg{{ID: "support", Name: "Support"}},
		Channels: []ChannelCfg{{ID: "site", Kind: "widget", Name: "Website", Queue: "support"}},
	}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.ReopenWindow == 0 {
		c.ReopenWindow = 168 * time.Hour
	}
	if c.Presence.IdleAfter == 0 {
		c.Presence.IdleAfter = 15 * time.Minute
	}
	if c.Events.Retention == 0 {
		c.Events.Retention = 7 * 24 * time.Hour
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Limits.MaxBody == 0 {
		c.Limits.MaxBody = 1 << 20
	}
	if c.Limits.FeedsPerUser == 0 {
		c.Limits.FeedsPerUser = api.DefaultFeedsPerUser
	}
	if c.Limits.FeedsPerVisitor == 0 {
		c.Limits.FeedsPerVisitor = api.DefaultFeedsPerVisitor
	}
	if c.BootstrapOwner.Name == "" {
		c.BootstrapOwner.Name = "Owner"
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Name == "" {
			q.Name = q.ID
		}
		if q.Offline.Mode == "" {
			q.Offline.Mode = "message"
		}
		if q.SlowAfter == 0 {
			q.SlowAfter = 2 * time.Minute
		}
	}
	for i := range c.Channels {
		if c.Channels[i].Name == "" {
			c.Channels[i].Name = c.Channels[i].ID
		}
	}
}

// Load reads the file at path ("" for defaults), expands ${VAR},
// ${VAR:-default} and ${VAR} from VAR_FILE, applies INBOXD_* overrides
// and validates.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c *Config
	if path == "" {
		c = Default()
	} else {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		c, err = Parse(raw, getenv)
		if err != nil {
			return nil, err
		}
	}
	for env, dst := range map[string]*string{
		"INBOXD_LISTEN": &c.Listen, "INBOXD_DATABASE_URL": &c.Database.URL, "INBOXD_DATA_DIR": &c.DataDir,
		"INBOXD_PUBLIC_URL": &c.PublicURL, "INBOXD_OWNER_EMAIL": &c.BootstrapOwner.Email,
		"INBOXD_OWNER_PASSWORD": &c.BootstrapOwner.Password, "INBOXD_LOG_LEVEL": &c.Log.Level,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes and validates a config file's bytes.
func Parse(raw []byte, getenv func(string) string) (*Config, error) {
	expanded, err := expand(string(raw), getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	dec := yaml.NewDecoder(strings.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if err.Error() == "EOF" {
			return nil, errors.New("config: the file is empty")
		}
		return nil, fmt.Errorf("config: %w", withLineKey(yamlKeyError(err), expanded))
	}
	c.applyDefaults()
	return c, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default}. When VAR is unset and
// VAR_FILE names a file, the file's content (trailing newline trimmed) is
// used: the usual way to hand secrets to a service.
func expand(s string, getenv func(string) string) (string, error) {
	var firstErr error
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1]
		if v := getenv(name); v != "" {
			return yamlQuoteSafe(v)
		}
		if f := getenv(name + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("config: %s_FILE: %w", name, err)
			}
			return yamlQuoteSafe(strings.TrimRight(string(b), "\r\n"))
		}
		return yamlQuoteSafe(m[3])
	})
	return out, firstErr
}

// yamlQuoteSafe keeps an expanded value from breaking out of a quoted
// YAML scalar.
func yamlQuoteSafe(v string) string {
	return strings.NewReplacer(`"`, `\"`, "\n", `\n`).Replace(v)
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the config; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "must be host:port (%v)", err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url", "must be an http(s) URL")
		}
	}
	if c.ReopenWindow < 0 {
		bad("reopen_window", "must not be negative")
	}
	if c.Events.Retention < time.Hour {
		bad("events.retention", "must be at least 1h")
	}
	if c.BootstrapOwner.Email != "" && !strings.Contains(c.BootstrapOwner.Email, "@") {
		bad("bootstrap_owner.email", "must be an email address")
	}
	if p := c.BootstrapOwner.Password; p != "" && len(p) < 8 {
		bad("bootstrap_owner.password", "must be at least 8 characters")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json")
	}
	if c.Limits.MaxBody < 1024 {
		bad("limits.max_body", "must be at least 1024 bytes")
	}
	if c.Limits.FeedsPerUser < 1 {
		bad("limits.feeds_per_user", "must be at least 1")
	}
	if c.Limits.FeedsPerVisitor < 1 {
		bad("limits.feeds_per_visitor", "must be at least 1")
	}
	switch c.Notifications.SMTP.TLS {
	case "", "none", "starttls", "implicit":
	default:
		bad("notifications.smtp.tls", "must be none, starttls or implicit")
	}
	if len(c.Queues) == 0 {
		bad("queues", "at least one queue is required")
	}
	queues := map[string]bool{}
	for i := range c.Queues {
		q := &c.Queues[i]
		key := fmt.Sprintf("queues[%d]", i)
		if !idPattern.MatchString(q.ID) {
			bad(key+".id", "must be 1-64 lowercase letters, digits, - or _")
		} else if queues[q.ID] {
			bad(key+".id", "%q is used twice", q.ID)
		}
		queues[q.ID] = true
		s, err := hours.Parse(hours.Config{Timezone: q.Timezone, Open: q.Hours.Open, Close: q.Hours.Close, Holidays: q.Holidays})
		if err != nil {
			bad(key, "%v", err)
		}
		q.Schedule = s
		if err := (hours.OfflineConfig{Mode: q.Offline.Mode}).Validate(); err != nil {
			bad(key, "%v", err)
		}
		seen := map[string]bool{}
		for j, qu := range q.Offline.Questions {
			if !idPattern.MatchString(qu.ID) || seen[qu.ID] {
				bad(fmt.Sprintf("%s.offline.questions[%d].id", key, j), "must be a unique id of lowercase letters, digits, - or _")
			}
			seen[qu.ID] = true
		}
	}
	ids := map[string]bool{}
	for i := range c.Channels {
		ch := &c.Channels[i]
		key := fmt.Sprintf("channels[%d]", i)
		switch {
		case !idPattern.MatchString(ch.ID):
			bad(key+".id", "must be 1-64 lowercase letters, digits, - or _")
		case ids[ch.ID]:
			bad(key+".id", "%q is used twice", ch.ID)
		}
		ids[ch.ID] = true
		if ch.Kind == "" {
			bad(key+".kind", "is required")
		}
		if !queues[ch.Queue] {
			bad(key+".queue", "%q is not a configured queue", ch.Queue)
		}
	}
	return errors.Join(errs...)
}

// Masked returns a copy of the config for display, with secrets hidden.
func (c *Config) Masked() map[string]any {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "********"
	}
	db := c.Database.URL
	if u, err := url.Parse(db); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "********")
			db = u.String()
		}
	}
	var chans []map[string]string
	for _, ch := range c.Channels {
		chans = append(chans, map[string]string{"id": ch.ID, "kind": ch.Kind, "name": ch.Name, "queue": ch.Queue})
	}
	var qs []string
	for _, q := range c.Queues {
		qs = append(qs, q.ID)
	}
	return map[string]any{
		"listen": c.Listen, "public_url": c.PublicURL, "data_dir": c.DataDir, "database.url": db,
		"bootstrap_owner.email": c.BootstrapOwner.Email, "bootstrap_owner.password": mask(c.BootstrapOwner.Password),
		"reopen_window": c.ReopenWindow.String(), "queues": qs, "channels": chans,
		"notifications.smtp.host": c.Notifications.SMTP.Host, "notifications.smtp.password": mask(c.Notifications.SMTP.Password),
	}
}
