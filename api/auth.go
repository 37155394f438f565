package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// Cookie names; the console relies on them.
const (
	SessionCookie = "inboxd_session"
	CSRFCookie    = "inboxd_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// SessionTTL is how long a login lasts.
const SessionTTL = 30 * 24 * time.Hour

// NewToken returns a random token and the hash that is stored for it.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("api: no randomness: " + err.Error())
	}
	token = "ibx_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how tokens are stored: a leaked table holds no usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Code or RecoveryCode: the second factor, when the user has one
	// (twofactor.go).
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

// UserView is a user as the API shows it.
type UserView struct {
	ID     int64          `json:"id"`
	Email  string         `json:"email"`
	Name   string         `json:"name"`
	Role   inbox.Role     `json:"role"`
	Status inbox.Presence `json:"status"`
	Queues []string       `json:"queues"`
	// TwoFactor: logins need a TOTP or recovery code.
	TwoFactor bool `json:"two_factor"`
}

func userView(u *inbox.User) UserView {
	q := u.Queues
	if q == nil {
		q = []string{}
	}
	return UserView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Presence, Queues: q, TwoFactor: u.TwoFactor}
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || req.Password == "" {
		return inbox.Invalid("email", "email and password are required")
	}
	if err := s.passwordLoginAllowed(email); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := s.o.Clock.Now()
	ip := c.RealIP()
	if d := s.logins.wait(email, ip, now); d > 0 {
		return tooManyLogins(c, d)
	}
	u, hash, err := s.o.Users.Credentials(ctx, email)
	if err != nil {
		return err
	}
	// The password is checked whether or not the account exists (against
	// a dummy hash of the same cost), so that the answer's timing does not
	// tell which accounts exist.
	ok := s.o.PasswordCheck(s.hashOr(u, hash), req.Password)
	if u == nil || !ok {
		d := s.logins.fail(email, ip, now)
		attrs := []any{"ip", ip, "locked_for", d.String()}
		if u != nil {
			attrs = append(attrs, "user_id", u.ID)
		}
		s.o.Logger.Info("login failed", attrs...)
		// What was typed as the email is not recorded for an unknown
		// account: people type passwords into the wrong field.
		e := &inbox.AuditEntry{Action: inbox.AuditLoginFailed, TargetType: "user", Data: map[string]string{"account": "unknown"}}
		if u != nil {
			e.TargetID, e.Data = strconv.FormatInt(u.ID, 10), map[string]string{"email": u.Email}
		}
		s.record(c, e)
		return inbox.Errorf(inbox.EUnauthorized, "wrong email or password")
	}
	if err := s.secondFactor(c, u, email, req.Code, req.RecoveryCode); err != nil {
		return err
	}
	s.logins.succeed(email, ip, now)
	token, th := NewToken()
	if err := s.o.Users.CreateToken(ctx, u.ID, th, "session", "login", now, now.Add(SessionTTL)); err != nil {
		return err
	}
	csrf, _ := NewToken()
	s.setCookie(c, SessionCookie, token, true, now.Add(SessionTTL))
	s.setCookie(c, CSRFCookie, csrf, false, now.Add(SessionTTL))
	s.o.Logger.Info("login", "user_id", u.ID, "ip", ip)
	s.record(c, &inbox.AuditEntry{ActorID: u.ID, ActorName: u.Name, Action: inbox.AuditLogin, TargetType: "user",
		TargetID: strconv.FormatInt(u.ID, 10)})
	return c.JSON(http.StatusOK, map[string]any{"token": token, "user": userView(u)})
}

// hashOr returns the user's hash, or the dummy one when there is no user
// or the user has no password.
func (s *Server) hashOr(u *inbox.User, hash string) string {
	if u == nil || hash == "" {
		return s.dummyHash
	}
	return hash
}

// newDummyHash is a hash of a random password at the cost real passwords
// are hashed with, compared against for unknown accounts.
func newDummyHash(cost int) string {
	pw, _ := NewToken()
	h, err := HashPassword(pw[:40], cost)
	if err != nil {
		panic("api: dummy hash: " + err.Error())
	}
	return h
}

func tooManyLogins(c echo.Context, d time.Duration) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
	return inbox.Errorf(inbox.ERateLimited, "too many failed logins: try again in %d seconds", int(d.Seconds())+1)
}

func (s *Server) setCookie(c echo.Context, name, value string, httpOnly bool, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: httpOnly, Secure: s.o.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: expires,
	})
}

func (s *Server) logout(c echo.Context) error {
	if tok := bearer(c); tok != "" {
		if err := s.o.Users.DeleteToken(c.Request().Context(), HashToken(tok)); err != nil {
			return err
		}
	} else if ck, err := c.Cookie(SessionCookie); err == nil {
		if err := s.o.Users.DeleteToken(c.Request().Context(), HashToken(ck.Value)); err != nil {
			return err
		}
	}
	// The feeds opened with the session end with it.
	s.revalidateFeeds(c.Request().Context(), currentUser(c).ID)
	s.setCookie(c, SessionCookie, "", true, time.Unix(1, 0))
	s.setCookie(c, CSRFCookie, "", false, time.Unix(1, 0))
	return c.NoContent(http.StatusNoContent)
}

func bearer(c echo.Context) string {
	h := c.Request().Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate finds the caller by bearer token, else by session cookie.
// Cookie-authenticated requests that change state must carry the CSRF
// token (double submit): another site can make the browser send the
// cookie, but cannot read it to copy it into the header.
func (s *Server) authenticate(c echo.Context) (*inbox.User, error) {
	tok, viaCookie := bearer(c), false
	if tok == "" {
		if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
			tok, viaCookie = ck.Value, true
		}
	}
	if tok == "" || len(tok) > 200 {
		return nil, inbox.Errorf(inbox.EUnauthorized, "log in first")
	}
	u, _, err := s.o.Users.UserByToken(c.Request().Context(), HashToken(tok), s.o.Clock.Now())
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, inbox.Errorf(inbox.EUnauthorized, "the session has expired: log in again")
	}
	if viaCookie && unsafeMethod(c.Request().Method) {
		ck, err := c.Cookie(CSRFCookie)
		h := c.Request().Header.Get(CSRFHeader)
		if err != nil || h == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(h)) != 1 {
			return nil, inbox.Errorf(inbox.EForbidden, "missing or wrong "+CSRFHeader)
		}
	}
	c.Set(userKey, u)
	return u, nil
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}
