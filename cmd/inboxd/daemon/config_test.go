package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.DataDir != "./data" || c.ReopenWindow != 168*time.Hour || c.Events.Retention != 168*time.Hour ||
		len(c.Queues) != 1 || len(c.Channels) != 1 || c.Channels[0].Kind != "widget" ||
		c.Limits.FeedsPerUser != 32 || c.Limits.FeedsPerVisitor != 4 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestExpandAndOverrides(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("from-a-file-0123456789\n"), 0o600)
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(`
listen: ${LISTEN:-127.0.0.1:9999}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: "${CRM_SECRET}"}
  - {id: shop, kind: webhook, queue: support, secret: "${SHOP_SECRET}"}
`), 0o600)
	c, err := Load(path, env(map[string]string{"CRM_SECRET_FILE": secretFile, "SHOP_SECRET": `quote"s and more`, "INBOXD_DATA_DIR": "/var/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.DataDir != "/var/x" {
		t.Fatalf("listen %q data_dir %q", c.Listen, c.DataDir)
	}
	var w struct {
		Secret string `yaml:"secret"`
	}
	if err := c.Channels[0].Decode(&w); err != nil || w.Secret != "from-a-file-0123456789" {
		t.Fatalf("secret from file: %q %v", w.Secret, err)
	}
	if err := c.Channels[1].Decode(&w); err != nil || w.Secret != `quote"s and more` {
		t.Fatalf("quoted secret: %q %v", w.Secret, err)
	}
	if _, err := Load(path, env(map[string]string{"CRM_SECRET_FILE": filepath.Join(dir, "missing")})); err == nil ||
		!strings.Contains(err.Error(), "CRM_SECRET_FILE") {
		t.Fatalf("missing secret file: %v", err)
	}
}

func TestValidationNamesKeys(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"listen: nope\nqueues: [{id: s}]", "listen:"},
		{"queues: []", "queues: at least one"},
		{"queues: [{id: 'Bad Id'}]", "queues[0].id:"},
		{"queues: [{id: s}, {id: s}]", `queues[1].id: "s" is used twice`},
		{"queues: [{id: s, timezone: Mars/Base}]", "queues[0]: timezone:"},
		{"queues: [{id: s, hours: {open: 'bad', close: '0 17 * * *'}}]", "queues[0]: hours.open:"},
		{"queues: [{id: s, offline: {mode: sometimes}}]", "queues[0]: offline.mode:"},
		{"queues: [{id: s}]\nchannels: [{id: a, kind: webhook, queue: nope}]", `channels[0].queue: "nope" is not a configured queue`},
		{"queues: [{id: s}]\nchannels: [{id: a, queue: s}]", "channels[0].kind: is required"},
		{"queues: [{id: s}]\nlistn: x", "listn: unknown key"},
		{"queues: [{id: s}]\npublic_url: ftp://x", "public_url:"},
		{"queues: [{id: s}]\nbootstrap_owner: {password: short}", "bootstrap_owner.password:"},
		{"queues: [{id: s}]\nlog: {level: loud}", "log.level:"},
		{"queues: [{id: s}]\nreopen_window: soon", "reopen_window"},
		{"queues: [{id: s}]\nevents: {retention: 10m}", "events.retention: must be at least 1h"},
		{"queues: [{id: s}]\nauth: {invite_ttl: 1m}", "auth.invite_ttl: must be between 5m and 720h"},
		{"queues: [{id: s}]\nauth: {invite_ttl: 1000h}", "auth.invite_ttl: must be between 5m and 720h"},
		{"queues: [{id: s}]\ntrusted_proxies: [127.0.0.1/32, proxy.local]", `trusted_proxies[1]: "proxy.local" is not an IP address or CIDR range`},
		{"queues: [{id: s}]\ntrusted_proxies: [10.0.0.0/33]", `trusted_proxies[0]:`},
		{"queues: [{id: s}]\ntrusted_proxies: 10.0.0.1", `trusted_proxies`},
		{"queues: [{id: s}]\nlimits: {feeds_per_user: -1}", "limits.feeds_per_user: must be at least 1"},
		{"queues: [{id: s}]\nlimits: {feeds_per_visitor: -2}", "limits.feeds_per_visitor: must be at least 1"},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tt.yaml, err, tt.want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	if d := Default(); len(d.TrustedProxies) != 0 || len(d.TrustedProxyNets()) != 0 {
		t.Fatalf("default trusted_proxies: %v", d.TrustedProxies)
	}
	c, err := Parse([]byte("queues: [{id: s}]\ntrusted_proxies: [127.0.0.1, 10.0.0.0/8, '2001:db8::/32']"), env(nil))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range c.TrustedProxyNets() {
		got = append(got, n.String())
	}
	if strings.Join(got, " ") != "127.0.0.1/32 10.0.0.0/8 2001:db8::/32" {
		t.Fatalf("nets: %v", got)
	}
}

func TestChannelKeysValidatedByAdapters(t *testing.T) {
	c, err := Parse([]byte(`
queues: [{id: s}]
channels:
  - {id: a, kind: webhook, queue: s}
  - {id: b, kind: webhook, queue: s, secret: 0123456789abcdef, colour: red}
  - {id: c, kind: carrier-pigeon, queue: s}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = BuildChannels(c, adapters.Deps{Logger: nil})
	if err == nil {
		t.Fatal("bad channels accepted")
	}
	for _, want := range []string{"channels[0] (a).secret: is required", "channels[1] (b).colour: unknown key",
		`channels[2] (c).kind: "carrier-pigeon" is not a channel kind`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	c, _ := Parse([]byte("queues: [{id: s}]\ndatabase: {url: 'postgres://u:hunter2@db/x'}\nbootstrap_owner: {password: hunter2hunter2}\nnotifications: {smtp: {password: smtp-secret}}"), env(nil))
	m := c.Masked()
	s := strings.Join([]string{m["database.url"].(string), m["bootstrap_owner.password"].(string), m["notifications.smtp.password"].(string)}, " ")
	if strings.Contains(s, "hunter2") || strings.Contains(s, "smtp-secret") {
		t.Fatalf("masked config shows secrets: %s", s)
	}
}

// Regression: `config check` printed a PostgreSQL ?password= (and a
// key=value DSN's password=) unmasked.
func TestMaskedDatabasePasswords(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:hunter2@db:5432/x?sslmode=disable":            "postgres://u:********@db:5432/x?sslmode=disable",
		"postgres://u@db/x?sslmode=require&password=hunter2":        "postgres://u@db/x?sslmode=require&password=********",
		"postgresql://db/x?PASSWORD=hunter2&sslpassword=hunter2":    "postgresql://db/x?PASSWORD=********&sslpassword=********",
		"host=db user=u password=hunter2 dbname=x":                  "host=db user=u password=******** dbname=x",
		"host=db password = 'hunter2 with spaces' dbname=x":         "host=db password = ******** dbname=x",
		"host=db password='it\\'s hunter2' sslpassword=hunter2 x=1": "host=db password=******** sslpassword=******** x=1",
		"sqlite:/var/lib/inboxd/inboxd.db":                          "sqlite:/var/lib/inboxd/inboxd.db",
		"":                                                          "",
	} {
		c, err := Parse([]byte("queues: [{id: s}]\n"), env(nil))
		if err != nil {
			t.Fatal(err)
		}
		c.Database.URL = dsn
		if got := c.Masked()["database.url"]; got != want {
			t.Errorf("%q masked as %q, want %q", dsn, got, want)
		}
	}
}

func TestMaskedChannelSecrets(t *testing.T) {
	c, err := Parse([]byte(`
queues: [{id: s}]
channels:
  - {id: a, kind: webhook, queue: s, secret: hunter2hunter2hunter2, callback_url: "https://u:hunter2@x.example/cb?k=hunter2#hunter2", max_body: 2048}
  - {id: b, kind: email, queue: s, imap: {password: hunter2, port: 993}, smtp: {password: 12345678}}
  - {id: c, kind: telegram, queue: s, token: "1:hunter2"}
  - {id: d, kind: widget, queue: s, identity_secret: hunter2, allowed_origins: ["https://example.com"]}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Masked()["channels"])
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "hunter2") || strings.Contains(s, "12345678") {
		t.Fatalf("masked channels show secrets: %s", s)
	}
	for _, want := range []string{`"max_body":2048`, `"port":993`, `"allowed_origins":["https://example.com"]`, `"kind":"email"`} {
		if !strings.Contains(s, want) {
			t.Errorf("masked channels lack %s: %s", want, s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../../configs/inboxd.example.yaml", "../../../configs/quickstart.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("queues: [{id: s}]\nchannels: [{id: a, kind: webhook, queue: s, secret: ${X:-y}}]")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse([]byte(s), env(map[string]string{"X": "v"}))
		if err != nil {
			return
		}
		_ = c.Validate()
		for i := range c.Channels {
			var m map[string]any
			_ = c.Channels[i].Decode(&m)
		}
	})
}
