package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inboxd/inboxd/inbox"
)

// AuthOptions are the login policies beyond passwords: two-factor
// authentication (this file) and single sign-on (oidc.go).
type AuthOptions struct {
	// TwoFactor stores the second factors (nil: the 2FA routes answer 503
	// and logins need none).
	TwoFactor TwoFactorStore
	// Audit records logins and 2FA changes made outside a store
	// transaction.
	Audit inbox.Auditor
	// Secrets seals the TOTP secrets (nil: stored plain).
	Secrets *SecretBox
	// Require2FA (auth.require_2fa): users who log in with a password must
	// enrol before using anything but the enrolment routes.
	Require2FA bool
	// PasswordLoginOff (auth.password_login: false): only BreakGlass (the
	// bootstrap owner's email) may log in with a password.
	PasswordLoginOff bool
	BreakGlass       string
	// Issuer names inboxd in authenticator apps (default "inboxd").
	Issuer string
	// OIDC is the single sign-on provider (nil: none).
	OIDC *OIDCOptions
}

// TwoFactorStore is the storage of second factors.
type TwoFactorStore interface {
	TwoFactor(ctx context.Context, userID int64) (inbox.TwoFactor, error)
	BeginTwoFactor(ctx context.Context, userID int64, secret string, codeHashes []string) error
	EnableTwoFactor(ctx context.Context, userID, step int64, now time.Time, audit *inbox.AuditEntry) error
	DisableTwoFactor(ctx context.Context, userID int64, audit *inbox.AuditEntry) error
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error)
}

// maxCodeLen bounds a submitted code (a TOTP code is 6 digits, a recovery
// code 19 characters).
const maxCodeLen = 64

// twoFactorRoutes: the caller's own enrolment and an owner's reset.
func (s *Server) twoFactorRoutes() []Route {
	return []Route{
		{http.MethodGet, "/api/v1/me/2fa", Member, s.twoFactorStatus},
		{http.MethodPost, "/api/v1/me/2fa", Member, s.twoFactorBegin},
		{http.MethodPost, "/api/v1/me/2fa/confirm", Member, s.twoFactorConfirm},
		{http.MethodDelete, "/api/v1/me/2fa", Member, s.twoFactorDisable},
		// Owners only (checked inside: admins get 403 too).
		{http.MethodDelete, "/api/v1/users/:id/2fa", Admin, s.twoFactorReset},
	}
}

// enrolmentOpen are the routes a user who must enrol may still call.
var enrolmentOpen = map[string]bool{
	"GET /api/v1/me": true, "POST /api/v1/auth/logout": true,
	"GET /api/v1/me/2fa": true, "POST /api/v1/me/2fa": true, "POST /api/v1/me/2fa/confirm": true,
}

// enrolmentGate answers 403 2fa_enrolment_required to a user who must
// enrol first (auth.require_2fa), except on the enrolment routes.
func (s *Server) enrolmentGate(r Route, u *inbox.User) error {
	if inbox.NeedsEnrolment(u, s.o.Auth.Require2FA) && !enrolmentOpen[r.Method+" "+r.Path] {
		return &inbox.Error{Code: inbox.E2FAEnrolment,
			Message: "two-factor authentication is required: enrol in Settings first"}
	}
	return nil
}

func (s *Server) twoFactorStore() (TwoFactorStore, error) {
	if s.o.Auth.TwoFactor == nil {
		return nil, inbox.Errorf(inbox.EUnavailable, "two-factor authentication is not configured")
	}
	return s.o.Auth.TwoFactor, nil
}

// twoFactorStatus: is it on, how many recovery codes are left, must the
// caller enrol.
func (s *Server) twoFactorStatus(c echo.Context) error {
	st, err := s.twoFactorStore()
	if err != nil {
		return err
	}
	u := currentUser(c)
	tf, err := st.TwoFactor(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"enabled": tf.Enabled(), "pending": tf.Pending(),
		"recovery_codes_left": tf.RecoveryLeft, "required": inbox.NeedsEnrolment(u, s.o.Auth.Require2FA)})
}

// twoFactorBegin makes a new secret and recovery codes and shows them
// once; nothing changes for logins until the confirmation.
func (s *Server) twoFactorBegin(c echo.Context) error {
	st, err := s.twoFactorStore()
	if err != nil {
		return err
	}
	u := currentUser(c)
	issuer := s.o.Auth.Issuer
	if issuer == "" {
		issuer = "inboxd"
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, SecretSize: 20,
		Period: inbox.TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return err
	}
	codes := inbox.NewRecoveryCodes()
	hashes := make([]string, len(codes))
	for i, code := range codes {
		hashes[i] = inbox.HashRecoveryCode(code)
	}
	if err := st.BeginTwoFactor(c.Request().Context(), u.ID, s.o.Auth.Secrets.Seal(u.ID, key.Secret()), hashes); err != nil {
		return err
	}
	qr, err := qrDataURL(key)
	if err != nil {
		return err
	}
	s.o.Logger.Info("2fa enrolment started", "user_id", u.ID)
	return c.JSON(http.StatusOK, map[string]any{"secret": key.Secret(), "otpauth_url": key.URL(),
		"recovery_codes": codes, "qr_png": qr})
}

// qrDataURL renders the otpauth URL as a PNG QR code in a data: URL (the
// console's CSP allows data: images).
func qrDataURL(key *otp.Key) (string, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

type codeRequest struct {
	Code string `json:"code"`
}

// twoFactorConfirm turns 2FA on with a code of the pending secret.
func (s *Server) twoFactorConfirm(c echo.Context) error {
	var req codeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.twoFactorStore()
	if err != nil {
		return err
	}
	ctx, u, now := c.Request().Context(), currentUser(c), s.o.Clock.Now()
	tf, err := st.TwoFactor(ctx, u.ID)
	if err != nil {
		return err
	}
	if !tf.Pending() {
		return inbox.Errorf(inbox.EConflict, "no enrolment is waiting: start one first")
	}
	step, err := s.checkOwnCode(c, u, tf, req.Code, false)
	if err != nil {
		return err
	}
	if err := st.EnableTwoFactor(ctx, u.ID, step, now, s.auditEntry(c, u, inbox.Audit2FAEnabled, u.ID)); err != nil {
		return err
	}
	s.o.Logger.Info("2fa enabled", "user_id", u.ID)
	return c.JSON(http.StatusOK, map[string]any{"enabled": true})
}

// twoFactorDisable turns the caller's 2FA off; it takes a current code or
// one of the recovery codes.
func (s *Server) twoFactorDisable(c echo.Context) error {
	var req codeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.twoFactorStore()
	if err != nil {
		return err
	}
	ctx, u := c.Request().Context(), currentUser(c)
	tf, err := st.TwoFactor(ctx, u.ID)
	if err != nil {
		return err
	}
	if !tf.Enabled() {
		return inbox.Errorf(inbox.EConflict, "two-factor authentication is not on")
	}
	if _, err := s.checkOwnCode(c, u, tf, req.Code, true); err != nil {
		return err
	}
	if err := st.DisableTwoFactor(ctx, u.ID, s.auditEntry(c, u, inbox.Audit2FADisabled, u.ID)); err != nil {
		return err
	}
	s.o.Logger.Info("2fa disabled", "user_id", u.ID)
	return c.NoContent(http.StatusNoContent)
}

// checkOwnCode checks a logged-in user's code (confirming or disabling),
// throttled per user as wrong current passwords are. It returns the step
// of an accepted TOTP code; when enabled, the step is recorded so the code
// cannot be used again, and recovery codes are accepted too (when
// allowRecovery).
func (s *Server) checkOwnCode(c echo.Context, u *inbox.User, tf inbox.TwoFactor, code string, allowRecovery bool) (int64, error) {
	now := s.o.Clock.Now()
	key := "2fa:" + strconv.FormatInt(u.ID, 10)
	if d := s.passwords.wait(key, now); d > 0 {
		return 0, tooManyCodes(c, d)
	}
	if code == "" || len(code) > maxCodeLen {
		return 0, inbox.Invalid("code", "is required")
	}
	step, ok, err := s.matchCode(c.Request().Context(), u.ID, tf, code, allowRecovery, now)
	if err != nil {
		return 0, err
	}
	if !ok {
		d := s.passwords.fail(key, now)
		s.o.Logger.Info("2fa code refused", "user_id", u.ID, "ip", c.RealIP(), "locked_for", d.String())
		if d > 0 {
			return 0, tooManyCodes(c, d)
		}
		return 0, inbox.Invalid("code", "is wrong or was used already")
	}
	s.passwords.reset(key)
	return step, nil
}

// matchCode checks a TOTP code (or, with allowRecovery, a recovery code)
// against a user's second factor. An accepted code of an enabled factor
// is used up at once: its step recorded, a recovery code marked used.
func (s *Server) matchCode(ctx context.Context, userID int64, tf inbox.TwoFactor, code string, allowRecovery bool, now time.Time) (int64, bool, error) {
	st := s.o.Auth.TwoFactor
	if allowRecovery && inbox.LooksLikeRecoveryCode(code) {
		ok, err := st.UseRecoveryCode(ctx, userID, inbox.HashRecoveryCode(code), now)
		return 0, ok, err
	}
	b32, err := s.o.Auth.Secrets.Open(userID, tf.Secret)
	if err != nil {
		return 0, false, err
	}
	secret, err := inbox.DecodeTOTPSecret(b32)
	if err != nil {
		return 0, false, err
	}
	step, ok := inbox.MatchTOTP(secret, code, now, tf.LastStep)
	if !ok || !tf.Enabled() {
		return step, ok, nil
	}
	used, err := st.UseTOTPStep(ctx, userID, step)
	return step, used, err
}

// twoFactorReset: an owner turns another user's 2FA off (a lost phone
// and lost recovery codes).
func (s *Server) twoFactorReset(c echo.Context) error {
	u := currentUser(c)
	if u.Role != inbox.RoleOwner {
		return inbox.Errorf(inbox.EForbidden, "only an owner can reset two-factor authentication")
	}
	id, err := pathID(c)
	if err != nil {
		return err
	}
	st, err := s.twoFactorStore()
	if err != nil {
		return err
	}
	if err := st.DisableTwoFactor(c.Request().Context(), id, s.auditEntry(c, u, inbox.Audit2FAReset, id)); err != nil {
		return err
	}
	s.o.Logger.Info("2fa reset", "user_id", u.ID, "target_user_id", id)
	return c.NoContent(http.StatusNoContent)
}

// secondFactor is the login's check after a right password: a user with
// 2FA on must also give "code" (TOTP) or "recovery_code". None given
// answers 401 2fa_required (the console then shows the code field); a
// wrong one counts as a failed login for the throttles.
func (s *Server) secondFactor(c echo.Context, u *inbox.User, email, code, recovery string) error {
	if !u.TwoFactor || s.o.Auth.TwoFactor == nil {
		return nil
	}
	if code == "" && recovery == "" {
		return &inbox.Error{Code: inbox.E2FARequired, Field: "code",
			Message: "enter the code from your authenticator app, or a recovery code"}
	}
	ctx, now, ip := c.Request().Context(), s.o.Clock.Now(), c.RealIP()
	tf, err := s.o.Auth.TwoFactor.TwoFactor(ctx, u.ID)
	if err != nil {
		return err
	}
	given, field := code, "code"
	if recovery != "" {
		given, field = recovery, "recovery_code"
	}
	ok := false
	if len(given) <= maxCodeLen && tf.Enabled() {
		if field == "recovery_code" && !inbox.LooksLikeRecoveryCode(given) {
			ok = false
		} else if _, ok, err = s.matchCode(ctx, u.ID, tf, given, field == "recovery_code", now); err != nil {
			return err
		}
	}
	if !ok {
		d := s.logins.fail(email, ip, now)
		s.o.Logger.Info("login failed", "ip", ip, "user_id", u.ID, "reason", "2fa", "locked_for", d.String())
		e := s.auditEntry(c, u, inbox.AuditLoginFailed, u.ID)
		e.Data = map[string]string{"method": "password", "reason": "2fa"}
		s.audit(ctx, e)
		if d > 0 {
			return tooManyLogins(c, d)
		}
		return &inbox.Error{Code: inbox.EUnauthorized, Field: field, Message: "the code is wrong or was used already"}
	}
	if field == "recovery_code" {
		s.o.Logger.Info("recovery code used", "user_id", u.ID, "ip", ip, "left", tf.RecoveryLeft-1)
	}
	return nil
}

// passwordLoginAllowed: with auth.password_login false, only the
// bootstrap owner (the break-glass account) logs in with a password. The
// answer is the same for every other email, known or not.
func (s *Server) passwordLoginAllowed(email string) error {
	if s.o.Auth.PasswordLoginOff && email != s.o.Auth.BreakGlass {
		return inbox.Errorf(inbox.EForbidden, "password login is off: sign in with single sign-on")
	}
	return nil
}

func tooManyCodes(c echo.Context, d time.Duration) error {
	secs := int(d.Seconds()) + 1
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return inbox.Errorf(inbox.ERateLimited, "too many wrong codes: try again in %d seconds", secs)
}

// auditEntry is an entry by the caller on a user.
func (s *Server) auditEntry(c echo.Context, actor *inbox.User, a inbox.AuditAction, target int64) *inbox.AuditEntry {
	e := &inbox.AuditEntry{CreatedAt: s.o.Clock.Now(), IP: c.RealIP(), Action: a, TargetType: "user",
		TargetID: strconv.FormatInt(target, 10)}
	if actor != nil {
		e.ActorID, e.ActorName = actor.ID, actor.Name
	}
	return e
}

// audit records an entry on its own; a failure is logged, never the
// caller's error (the change it records has happened).
func (s *Server) audit(ctx context.Context, e *inbox.AuditEntry) {
	if s.o.Auth.Audit == nil {
		return
	}
	if err := s.o.Auth.Audit.Audit(ctx, e); err != nil {
		s.o.Logger.Warn("audit entry not recorded", "action", string(e.Action), "err", err)
	}
}
