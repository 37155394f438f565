package widget

import (
	"sort"
	"strings"
)

// translations are the widget's shipped strings. Every language has every
// key of "en" (a test checks it); a channel's `strings` override them or
// add a language. {name}, {n} and {time} are filled in by the widget.
var translations = map[string]map[string]string{
	"en": {
		"launcher":      "Open chat",
		"close":         "Close chat",
		"title":         "Chat with us",
		"log":           "Messages",
		"placeholder":   "Write a message…",
		"send":          "Send",
		"typing":        "{name} is typing…",
		"team":          "Support",
		"you":           "You",
		"messenger":     "We are away right now. Leave a message and we will reply here as soon as we can.",
		"email_label":   "Your email for a reply (optional)",
		"email_save":    "Save",
		"email_saved":   "Thanks, we will also reply by email.",
		"offline_title": "We are offline",
		"hours":         "Opening hours",
		"next_open":     "We are back {time}.",
		"form_title":    "Leave us a message",
		"name":          "Name",
		"email":         "Email",
		"message":       "Message",
		"submit":        "Send",
		"form_sent":     "Thank you! We will get back to you.",
		"send_failed":   "Not sent yet, retrying…",
		"unread":        "{n} new messages",
		"required":      "required",
	},
	"fi": {
		"launcher":      "Avaa chat",
		"close":         "Sulje chat",
		"title":         "Keskustele kanssamme",
		"log":           "Viestit",
		"placeholder":   "Kirjoita viesti…",
		"send":          "Lähetä",
		"typing":        "{name} kirjoittaa…",
		"team":          "Asiakaspalvelu",
		"you":           "Sinä",
		"messenger":     "Emme ole juuri nyt paikalla. Jätä viesti, niin vastaamme tähän mahdollisimman pian.",
		"email_label":   "Sähköpostisi vastausta varten (valinnainen)",
		"email_save":    "Tallenna",
		"email_saved":   "Kiitos, vastaamme myös sähköpostilla.",
		"offline_title": "Olemme suljettu",
		"hours":         "Aukioloajat",
		"next_open":     "Palaamme {time}.",
		"form_title":    "Jätä meille viesti",
		"name":          "Nimi",
		"email":         "Sähköposti",
		"message":       "Viesti",
		"submit":        "Lähetä",
		"form_sent":     "Kiitos! Otamme sinuun yhteyttä.",
		"send_failed":   "Ei vielä lähetetty, yritetään uudelleen…",
		"unread":        "{n} uutta viestiä",
		"required":      "pakollinen",
	},
	"de": {
		"launcher":      "Chat öffnen",
		"close":         "Chat schließen",
		"title":         "Schreiben Sie uns",
		"log":           "Nachrichten",
		"placeholder":   "Nachricht schreiben…",
		"send":          "Senden",
		"typing":        "{name} schreibt…",
		"team":          "Support",
		"you":           "Sie",
		"messenger":     "Wir sind gerade nicht da. Hinterlassen Sie eine Nachricht, wir antworten hier so bald wie möglich.",
		"email_label":   "Ihre E-Mail für eine Antwort (optional)",
		"email_save":    "Speichern",
		"email_saved":   "Danke, wir antworten auch per E-Mail.",
		"offline_title": "Wir sind offline",
		"hours":         "Öffnungszeiten",
		"next_open":     "Wir sind {time} wieder da.",
		"form_title":    "Hinterlassen Sie uns eine Nachricht",
		"name":          "Name",
		"email":         "E-Mail",
		"message":       "Nachricht",
		"submit":        "Senden",
		"form_sent":     "Vielen Dank! Wir melden uns bei Ihnen.",
		"send_failed":   "Noch nicht gesendet, neuer Versuch…",
		"unread":        "{n} neue Nachrichten",
		"required":      "erforderlich",
	},
	"uk": {
		"launcher":      "Відкрити чат",
		"close":         "Закрити чат",
		"title":         "Напишіть нам",
		"log":           "Повідомлення",
		"placeholder":   "Напишіть повідомлення…",
		"send":          "Надіслати",
		"typing":        "{name} друкує…",
		"team":          "Підтримка",
		"you":           "Ви",
		"messenger":     "Зараз нас немає на місці. Залиште повідомлення, і ми відповімо тут якнайшвидше.",
		"email_label":   "Ваш email для відповіді (необов’язково)",
		"email_save":    "Зберегти",
		"email_saved":   "Дякуємо, ми також відповімо електронною поштою.",
		"offline_title": "Ми офлайн",
		"hours":         "Години роботи",
		"next_open":     "Ми повернемося {time}.",
		"form_title":    "Залиште нам повідомлення",
		"name":          "Ім’я",
		"email":         "Email",
		"message":       "Повідомлення",
		"submit":        "Надіслати",
		"form_sent":     "Дякуємо! Ми зв’яжемося з вами.",
		"send_failed":   "Ще не надіслано, повторюємо…",
		"unread":        "Нових повідомлень: {n}",
		"required":      "обов’язково",
	},
	"nl": {
		"launcher":      "Chat openen",
		"close":         "Chat sluiten",
		"title":         "Chat met ons",
		"log":           "Berichten",
		"placeholder":   "Schrijf een bericht…",
		"send":          "Versturen",
		"typing":        "{name} typt…",
		"team":          "Support",
		"you":           "U",
		"messenger":     "We zijn er nu niet. Laat een bericht achter, dan antwoorden we hier zo snel mogelijk.",
		"email_label":   "Uw e-mail voor een antwoord (optioneel)",
		"email_save":    "Opslaan",
		"email_saved":   "Bedankt, we antwoorden ook per e-mail.",
		"offline_title": "We zijn offline",
		"hours":         "Openingstijden",
		"next_open":     "We zijn er weer {time}.",
		"form_title":    "Laat een bericht achter",
		"name":          "Naam",
		"email":         "E-mail",
		"message":       "Bericht",
		"submit":        "Versturen",
		"form_sent":     "Bedankt! We nemen contact met u op.",
		"send_failed":   "Nog niet verstuurd, opnieuw proberen…",
		"unread":        "{n} nieuwe berichten",
		"required":      "verplicht",
	},
}

func shippedLangs() []string {
	out := make([]string, 0, len(translations))
	for l := range translations {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func knownLang(lang string, extra map[string]map[string]string) bool {
	_, shipped := translations[lang]
	_, own := extra[lang]
	return shipped || own
}

// Settings is what the widget needs before it draws itself: language,
// strings, colours, position and the message length limit.
type Settings struct {
	Lang             string            `json:"lang"`
	Strings          map[string]string `json:"strings"`
	Colors           Colors            `json:"colors"`
	Position         string            `json:"position"`
	MaxMessageLength int               `json:"max_message_length"`
	// Identity says whether the channel verifies site users.
	Identity bool `json:"identity"`
}

// Settings returns the widget's settings for a visitor whose browser
// prefers the languages in accept (navigator.languages, or an
// Accept-Language header: "fi-FI,fi;q=0.9,en;q=0.8"). The channel's lang,
// when set, wins.
func (c *Channel) Settings(accept string) Settings {
	lang := c.cfg.Lang
	if lang == "" {
		lang = negotiate(accept, c.cfg.Strings)
	}
	s := map[string]string{}
	for k, v := range translations["en"] {
		s[k] = v
	}
	for k, v := range translations[lang] {
		s[k] = v
	}
	for k, v := range c.cfg.Strings[lang] {
		s[k] = v
	}
	return Settings{Lang: lang, Strings: s, Colors: c.cfg.Colors, Position: c.cfg.Position,
		MaxMessageLength: c.cfg.MaxMessageLength, Identity: c.cfg.IdentitySecret != ""}
}

// negotiate picks the first language of accept that is shipped or
// configured, matching "fi-FI" to "fi"; en when none.
func negotiate(accept string, extra map[string]map[string]string) string {
	for _, part := range strings.Split(accept, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || len(tag) > 35 {
			continue
		}
		if knownLang(tag, extra) {
			return tag
		}
		if base, _, ok := strings.Cut(tag, "-"); ok && knownLang(base, extra) {
			return base
		}
	}
	return "en"
}
