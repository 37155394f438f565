package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
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
	Auth           AuthCfg       `yaml:"auth"`
	Retention      RetentionCfg  `yaml:"retention"`
	// TrustedProxies are the reverse proxies (CIDR ranges or addresses)
	// whose X-Forwarded-For inboxd believes; empty: the connection's
	// address is the client's and forwarding headers are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// Integrations tell other systems what happens in the inbox.
	Integrations IntegrationsCfg `yaml:"integrations"`
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
	Retention     string          `yaml:"retention"` // config_retention.go
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
	c.Integrations.applyDefaults()
	if c.Auth.InviteTTL == 0 {
		c.Auth.InviteTTL = api.DefaultInviteTTL
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
	if c.Auth.InviteTTL < 5*time.Minute || c.Auth.InviteTTL > 30*24*time.Hour {
		bad("auth.invite_ttl", "must be between 5m and 720h")
	}
	if c.Events.Retention < time.Hour {
		bad("events.retention", "must be at least 1h")
	}
	c.validateRetention(bad)
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
	c.validateAuth(bad)
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
	for i, p := range c.TrustedProxies {
		if _, err := api.ParseTrustedProxy(p); err != nil {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or CIDR range", p)
		}
	}
	if err := c.Integrations.validateTickets(); err != nil {
		errs = append(errs, err)
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
	c.Integrations.validate(queues, bad)
	return errors.Join(errs...)
}

// CheckChannels validates every channel's own keys through its adapter's
// factory, as serve does, without a database and without running
// anything: factories make no network call and start nothing, and the
// channels are built around an ingester that stores nothing, then dropped.
// Errors name the channel and the key.
func CheckChannels(cfg *Config) error {
	_, err := OfflineChannels(cfg, slog.New(slog.DiscardHandler))
	return err
}

// OfflineChannels builds the config's channels for a command that runs
// no daemon (config check, channels register): they store nothing and
// run no poller.
func OfflineChannels(cfg *Config, logger *slog.Logger) (map[string]adapters.Channel, error) {
	return BuildChannels(cfg, adapters.Deps{Ingest: noIngest{}, Logger: logger,
		PublicURL: strings.TrimSuffix(cfg.PublicURL, "/")})
}

// noIngest is the ingester of channels built only to be validated.
type noIngest struct{}

func (noIngest) Ingest(context.Context, inbox.Inbound) (inbox.IngestResult, error) {
	return inbox.IngestResult{}, inbox.ErrUnavailable
}

func (noIngest) IngestBatch(context.Context, []inbox.Inbound, *inbox.Cursor) ([]inbox.IngestResult, error) {
	return nil, inbox.ErrUnavailable
}

func (noIngest) UpdateDelivery(context.Context, []inbox.DeliveryUpdate) error {
	return inbox.ErrUnavailable
}

func (noIngest) Cursor(context.Context, string, string) (string, error) {
	return "", inbox.ErrUnavailable
}

func (noIngest) SaveCursor(context.Context, inbox.Cursor) error { return inbox.ErrUnavailable }

// Masked returns a copy of the config for display, with secrets hidden:
// passwords in database.url (user:password@, ?password=, password= in a
// key=value DSN), the owner's and SMTP passwords, and every channel's
// secrets (keys named token, secret, password or ending so) and the
// passwords and query values of its URLs.
func (c *Config) Masked() map[string]any {
	var chans []map[string]any
	for i := range c.Channels {
		chans = append(chans, c.Channels[i].masked())
	}
	var qs []string
	for _, q := range c.Queues {
		qs = append(qs, q.ID)
	}
	return map[string]any{
		"listen": c.Listen, "public_url": c.PublicURL, "data_dir": c.DataDir, "database.url": maskDSN(c.Database.URL),
		"bootstrap_owner.email": c.BootstrapOwner.Email, "bootstrap_owner.password": mask(c.BootstrapOwner.Password),
		"reopen_window": c.ReopenWindow.String(), "queues": qs, "channels": chans, "trusted_proxies": c.TrustedProxies,
		"notifications.smtp.host": c.Notifications.SMTP.Host, "notifications.smtp.password": mask(c.Notifications.SMTP.Password),
		"integrations": c.Integrations.masked(),
		"auth":         c.maskedAuth(),
	}
}

const masked = "********"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return masked
}

// masked is the channel's keys for display, its own keys included.
func (c *ChannelCfg) masked() map[string]any {
	m := map[string]any{}
	if c.node.Kind != 0 {
		_ = c.node.Decode(&m) // validated already; a failure shows the common keys only
	}
	m["id"], m["kind"], m["name"], m["queue"] = c.ID, c.Kind, c.Name, c.Queue
	for k, v := range m {
		m[k] = maskValue(k, v)
	}
	return m
}

// maskValue masks v when its key names a secret, and the secrets of the
// URLs in it otherwise.
func maskValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskValue(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskValue(key, e)
		}
		return x
	case nil:
		return nil
	case string:
		if secretKey(key) {
			return mask(x)
		}
		if strings.Contains(x, "://") {
			return maskURL(x, func(string) bool { return true })
		}
		return x
	}
	if secretKey(key) {
		return masked // a secret written as a number
	}
	return v
}

// secretKey reports whether a config key holds a secret: token, secret,
// password, or a name ending in _token, _secret or _password.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "secret", "password"} {
		if k == w || strings.HasSuffix(k, "_"+w) {
			return true
		}
	}
	return false
}

// maskURL masks the password of a URL's userinfo and the query values
// whose key secretParam accepts, keeping the rest readable. What url.Parse
// refuses is shown redacted (no userinfo, no query).
func maskURL(raw string, secretParam func(string) bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return providerhttp.RedactURL(raw)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err != nil || secretParam(name) {
				params[i] = k + "=" + masked
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	if u.Fragment != "" {
		u.Fragment = masked
	}
	// String escapes the masked password's stars; show them as stars.
	return strings.Replace(u.String(), strings.Repeat("%2A", len(masked)), masked, 1)
}

// dsnPassword is a password in a key=value PostgreSQL DSN, quoted or not.
var dsnPassword = regexp.MustCompile(`(?i)(\b[a-z_]*pass[a-z_]*\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']*)`)

// maskDSN masks the passwords of a database URL or key=value DSN.
func maskDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsnPassword.ReplaceAllString(dsn, "${1}"+masked)
	}
	return maskURL(dsn, func(k string) bool {
		k = strings.ToLower(k)
		return strings.Contains(k, "pass") || strings.Contains(k, "secret") || strings.Contains(k, "token")
	})
}

// TrustedProxyNets returns trusted_proxies parsed (Validate has checked
// them).
func (c *Config) TrustedProxyNets() []*net.IPNet {
	var out []*net.IPNet
	for _, p := range c.TrustedProxies {
		if n, err := api.ParseTrustedProxy(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// ChannelInfos is what the domain knows of the configured channels.
func (c *Config) ChannelInfos() []inbox.ChannelInfo {
	infos := make([]inbox.ChannelInfo, 0, len(c.Channels))
	for _, ch := range c.Channels {
		infos = append(infos, ChannelInfo(ch.ID, ch.Kind, ch.Name, ch.Queue))
	}
	return infos
}

// ChannelInfo is one channel as the domain knows it: the widget's chats are
// named by request number.
func ChannelInfo(id, kind, name, queue string) inbox.ChannelInfo {
	return inbox.ChannelInfo{ID: id, Kind: kind, Name: name, Queue: queue, NamedByNumber: kind == widget.Kind}
}
