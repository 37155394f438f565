package email

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpSink is an SMTP server on 127.0.0.1 that keeps what it receives;
// reject, when set, answers RCPT TO.
type smtpSink struct {
	host string
	port int

	mu     sync.Mutex
	mails  []sunkMail
	reject func(rcpt string) error
}

type sunkMail struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sink}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	sink.host = host
	sink.port, _ = strconv.Atoi(port)
	return sink
}

func (s *smtpSink) config() SMTPConfig {
	return SMTPConfig{Host: s.host, Port: s.port, TLS: TLSNone}
}

func (s *smtpSink) received() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMail(nil), s.mails...)
}

func (s *smtpSink) setReject(f func(string) error) {
	s.mu.Lock()
	s.reject = f
	s.mu.Unlock()
}

// waitFor waits until n mails arrived.
func (s *smtpSink) waitFor(t *testing.T, n int) []sunkMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails arrived, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type sinkSession struct {
	sink *smtpSink
	mail sunkMail
}

func (s *sinkSession) Reset()        { s.mail = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.mail.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	reject := s.sink.reject
	s.sink.mu.Unlock()
	if reject != nil {
		if err := reject(to); err != nil {
			return err
		}
	}
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.mail.to) == 0 {
		return errors.New("no recipients")
	}
	s.mail.data = bytes.Clone(b)
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.mail)
	s.sink.mu.Unlock()
	return nil
}
