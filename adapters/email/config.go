package email

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// TLS modes of the imap and smtp sections.
const (
	TLSImplicit = "implicit" // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS
	TLSNone     = "none"     // no encryption: only for a server on localhost
)

// Default poll interval when the server has no IDLE.
const defaultPollInterval = time.Minute

// Config is an email channel's entry in the config file.
type Config struct {
	// Address is the mailbox's address: the From of replies.
	Address string `yaml:"address"`
	// ReplyDomain, when set, makes replies carry
	// Reply-To: reply+<conversation token>@<reply_domain>, so that an
	// answer finds its conversation even when a client drops the
	// In-Reply-To and References headers.
	ReplyDomain string     `yaml:"reply_domain"`
	IMAP        IMAPConfig `yaml:"imap"`
	SMTP        SMTPConfig `yaml:"smtp"`
}

// IMAPConfig is where inbound mail is fetched.
type IMAPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Mailbox  string `yaml:"mailbox"`
	// PollInterval is how often the mailbox is checked when the server
	// does not offer IDLE.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// SMTPConfig is where outbound mail is sent. The notifications mailer
// takes the same section.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// validate fills defaults and checks every key; errors name the key.
func (c *Config) validate() error {
	c.Address = strings.TrimSpace(c.Address)
	if c.Address == "" {
		return errors.New("address: is required")
	}
	a, err := mail.ParseAddress(c.Address)
	if err != nil || a.Name != "" || a.Address != c.Address {
		return fmt.Errorf("address: %q is not a bare email address", c.Address)
	}
	c.ReplyDomain = strings.ToLower(strings.TrimSpace(c.ReplyDomain))
	if c.ReplyDomain != "" && !validDomain(c.ReplyDomain) {
		return fmt.Errorf("reply_domain: %q is not a domain name", c.ReplyDomain)
	}
	if err := c.IMAP.validate("imap"); err != nil {
		return err
	}
	return c.SMTP.Validate("smtp")
}

func (c *IMAPConfig) validate(prefix string) error {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if err := checkServer(prefix, c.Host, &c.Port, c.TLS, 993, 143); err != nil {
		return err
	}
	if c.Username == "" {
		return fmt.Errorf("%s.username: is required", prefix)
	}
	if c.Password == "" {
		return fmt.Errorf("%s.password: is required", prefix)
	}
	if c.Mailbox == "" {
		c.Mailbox = "INBOX"
	}
	switch {
	case c.PollInterval < 0:
		return fmt.Errorf("%s.poll_interval: must not be negative", prefix)
	case c.PollInterval == 0:
		c.PollInterval = defaultPollInterval
	}
	return nil
}

// Validate fills the defaults of an smtp section (tls starttls, the port
// of the TLS mode) and checks it; errors start with prefix, the key of
// the section (e.g. "notifications.smtp").
func (c *SMTPConfig) Validate(prefix string) error {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	var plainPort = 25
	if c.TLS == TLSStartTLS {
		plainPort = 587
	}
	if err := checkServer(prefix, c.Host, &c.Port, c.TLS, 465, plainPort); err != nil {
		return err
	}
	if c.Password != "" && c.Username == "" {
		return fmt.Errorf("%s.username: is required with a password", prefix)
	}
	return nil
}

func checkServer(prefix, host string, port *int, mode string, implicitPort, plainPort int) error {
	if strings.TrimSpace(host) == "" {
		return fmt.Errorf("%s.host: is required", prefix)
	}
	switch mode {
	case TLSImplicit, TLSStartTLS, TLSNone:
	default:
		return fmt.Errorf("%s.tls: must be implicit, starttls or none, not %q", prefix, mode)
	}
	switch {
	case *port < 0 || *port > 65535:
		return fmt.Errorf("%s.port: %d is not a TCP port", prefix, *port)
	case *port == 0 && mode == TLSImplicit:
		*port = implicitPort
	case *port == 0:
		*port = plainPort
	}
	return nil
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") && d != "localhost" {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
