// Package dovecottest starts a real Dovecot IMAP server on 127.0.0.1 for
// tests, with a throwaway config (passwd-file auth, a maildir, no TLS) in
// a temporary folder. It skips the test when dovecot is not installed,
// and fails it instead when CI=true.
package dovecottest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Server is a running Dovecot with one account.
type Server struct {
	Port     int
	Username string
	Password string
	Dir      string
}

// Start starts dovecot or skips the test when it is not installed
// (fails instead when CI=true: CI must run these tests). idle=false
// hides the IDLE capability, to test polling.
func Start(t testing.TB, idle bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd)")
		}
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd); skipping the IMAP integration test")
	}
	// Dovecot's login processes must reach base_dir as an unprivileged
	// user, so the directory is world-traversable (t.TempDir is 0700),
	// and short (unix socket paths are limited to ~100 bytes).
	dir, err := os.MkdirTemp("", "dovecot")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	users := dovecotUsers(t)
	for _, sub := range []string{"run", "state", "mail", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"mail", "home"} {
		if err := os.Chown(filepath.Join(dir, sub), users.mailUID, users.mailGID); err != nil {
			t.Fatal(err)
		}
	}
	d := &Server{Port: freePort(t), Username: "support", Password: "s3cret", Dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(d.Username+":{PLAIN}"+d.Password+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	capability := ""
	if !idle {
		capability = "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS\n"
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = %[1]s/dovecot.log
mail_location = maildir:%[1]s/mail/%%u
default_internal_user = %[2]s
default_internal_group = %[3]s
default_login_user = %[4]s
first_valid_uid = 0
mailbox_idle_check_interval = 1 secs
%[6]s
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[7]d gid=%[8]d home=%[1]s/home/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`, dir, users.internal, users.internalGroup, users.login, d.Port, capability, users.mailUID, users.mailGID)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot output:\n%s\n%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := d.Client()
		if err == nil {
			_ = c.Close()
			return d
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not come up: %v\n%s\n%s", err, out.String(), log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type dovecotAccounts struct {
	internal, internalGroup, login string
	mailUID, mailGID               int
}

// dovecotUsers picks the system users dovecot runs as: the ones the
// Debian package creates when running as root (dovecot refuses root for
// its login and mail processes), else the current user for everything.
func dovecotUsers(t testing.TB) dovecotAccounts {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		return dovecotAccounts{internal: u.Username, internalGroup: g.Name, login: u.Username,
			mailUID: os.Geteuid(), mailGID: os.Getegid()}
	}
	dc, err1 := user.Lookup("dovecot")
	dn, err2 := user.Lookup("dovenull")
	if err1 != nil || err2 != nil {
		t.Fatalf("running as root needs the dovecot and dovenull users of the dovecot-core package: %v %v", err1, err2)
	}
	g, err := user.LookupGroupId(dc.Gid)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(dc.Uid)
	gid, _ := strconv.Atoi(dc.Gid)
	return dovecotAccounts{internal: dc.Username, internalGroup: g.Name, login: dn.Username, mailUID: uid, mailGID: gid}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Client logs in to the server over plain IMAP on 127.0.0.1.
func (d *Server) Client() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port)), nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(d.Username, d.Password).Wait(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Append puts raw messages into INBOX, as a delivery would.
func (d *Server) Append(t testing.TB, raws ...[]byte) {
	t.Helper()
	c, err := d.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, raw := range raws {
		raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		cmd := c.Append("INBOX", int64(len(raw)), &imap.AppendOptions{Time: time.Now()})
		if _, err := cmd.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}
