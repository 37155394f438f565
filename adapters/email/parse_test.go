package email

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

var testOpts = ParseOptions{Address: "support@example.com", ReplyDomain: "reply.example.com"}

// corpusCase is what one testdata/*.eml must yield. Empty strings and nil
// slices are checked too: "" means the field must be empty.
type corpusCase struct {
	file        string
	id          string
	contact     string // Contact.ExternalID
	name        string
	subject     string
	title       string
	text        string   // exact Text
	contains    []string // for texts checked by parts
	notContains []string
	html        bool
	auto        string // Meta["auto_reason"]; "" means not Auto
	refs        []string
	token       string
	attachments []string // names, in order
	bounce      string   // the failed ProviderID; "" means no delivery update
	bounceErr   string
	parseError  string // substring of Meta["parse_error"]; "" means none
	meta        map[string]string
	sentAt      string // RFC 3339; "" means zero
}

var corpus = []corpusCase{
	{
		file: "plain_utf8.eml", id: "plain-1@mail.example.com", contact: "jane@example.com", name: "Jane Doe",
		subject: "Hello there", title: "Jane Doe: Hello there",
		text:        "Hi team,\n\nmy order #1234 has not arrived yet — could you check? Ünïcödé ✓\n\nThanks,\nJane",
		attachments: []string{OriginalName}, sentAt: "2025-03-03T08:02:00Z",
	},
	{
		file: "latin1_qp.eml", id: "latin1-1@example.de", contact: "juergen@example.de", name: "Jürgen Müller",
		subject: "Frage zur Rechnung für März", title: "Jürgen Müller: Frage zur Rechnung für März",
		text:        "Guten Tag,\n\nich habe eine Frage zu meiner Rechnung. Grüße aus München, schöne Straße.\n\nJürgen",
		attachments: []string{OriginalName}, sentAt: "2025-03-04T08:00:00Z",
	},
	{
		file: "cp1251_8bit.eml", id: "cp1251-1@example.ru", contact: "ivan@example.ru", name: "Иван Петров",
		subject: "Вопрос о доставке", title: "Иван Петров: Вопрос о доставке",
		text:        "Здравствуйте!\n\nПодскажите, пожалуйста, когда будет доставлен мой заказ? Номер заказа 5678.\nЗаранее спасибо за ответ.\n\nИван Петров",
		attachments: []string{OriginalName}, sentAt: "2025-03-05T09:00:00Z",
	},
	{
		file: "encoded_words_utf8.eml", id: "words-1@example.es", contact: "maria@example.es", name: "¡Hola! María",
		subject: "Épique problème avec ma commande ✈", title: "¡Hola! María: Épique problème avec ma commande ✈",
		text: "Bonjour, ma commande est bloquée.", attachments: []string{OriginalName}, sentAt: "2025-03-06T08:30:00Z",
	},
	{
		file: "html_only.eml", id: "html-only-1@example.org", contact: "customer@example.org", name: "Shop Customer",
		subject: "HTML only", title: "Shop Customer: HTML only",
		contains:    []string{"Hello *support*", "item 42 ( https://example.org/item/42 )", "* first point", "* second point"},
		notContains: []string{"<p>", "color:red"},
		html:        true, attachments: []string{OriginalName}, sentAt: "2025-03-06T11:00:00Z",
	},
	{
		file: "alternative.eml", id: "alt-1@example.net", contact: "bob@example.net", name: "Bob Smith",
		subject: "Both parts", title: "Bob Smith: Both parts", text: "Plain version of the question.",
		html: true, attachments: []string{OriginalName}, sentAt: "2025-03-07T11:00:00Z",
	},
	{
		file: "attachment_pdf.eml", id: "att-1@example.com", contact: "carol@example.com", name: "Carol",
		subject: "Invoice attached", title: "Carol: Invoice attached", text: "Please see the attached invoice.",
		attachments: []string{"invoice 2025.pdf", "résumé.csv", OriginalName}, sentAt: "2025-03-07T12:00:00Z",
	},
	{
		file: "inline_image.eml", id: "inline-1@example.com", contact: "dan@example.com", name: "Dan",
		subject: "Screenshot", title: "Dan: Screenshot", text: "See the error:", html: true,
		attachments: []string{"inline-1.png", "inline-2.png", OriginalName}, sentAt: "2025-03-08T12:00:00Z",
	},
	{
		file: "gmail_reply.eml", id: "CAGmail-reply-1@mail.gmail.com", contact: "jane@example.com", name: "Jane Doe",
		subject: "Re: Hello there", title: "Jane Doe: Re: Hello there", text: "Thanks, that worked!", html: true,
		refs: []string{"inboxd.7.abcdef@example.com", "plain-1@mail.example.com"}, token: "tok_ABC123",
		attachments: []string{OriginalName}, meta: map[string]string{MetaQuoteCut: "true"}, sentAt: "2025-03-03T10:00:00Z",
	},
	{
		file: "gmail_reply_wrapped.eml", id: "CAGmail-reply-2@mail.gmail.com", contact: "jane@example.com", name: "Jane Doe",
		subject: "Re: Hello there", title: "Jane Doe: Re: Hello there", text: "One more question: do you ship to Norway?",
		refs: []string{"CAGmail-reply-1@mail.gmail.com"}, attachments: []string{OriginalName},
		meta: map[string]string{MetaQuoteCut: "true"}, sentAt: "2025-03-03T11:00:00Z",
	},
	{
		file: "outlook_reply.eml", id: "DB7PR01MB1234@DB7PR01MB.eurprd01.prod.outlook.com", contact: "frank.miller@corp.example",
		name: "Miller, Frank", subject: "RE: Contract renewal", title: "Miller, Frank: RE: Contract renewal",
		text: "Yes, please renew it for another year.\n\nFrank", refs: []string{"inboxd.9.fedcba@example.com"},
		attachments: []string{OriginalName}, meta: map[string]string{MetaQuoteCut: "true"}, sentAt: "2025-03-10T09:15:00Z",
	},
	{
		file: "outlook_from_sent.eml", id: "AM0PR02MB5678@AM0PR02MB.eurprd02.prod.outlook.com", contact: "grace@corp.example",
		name: "Grace Hopper", subject: "RE: Ticket", title: "Grace Hopper: RE: Ticket", text: "Works now, thank you.",
		refs: []string{"inboxd.11.aaaa@example.com"}, attachments: []string{OriginalName}, sentAt: "2025-03-10T10:15:00Z",
	},
	{
		file: "signature.eml", id: "sig-1@example.ch", contact: "heidi@example.ch", name: "Heidi",
		subject: "Login problem", title: "Heidi: Login problem", text: "I cannot log in since yesterday.",
		attachments: []string{OriginalName}, sentAt: "2025-03-11T10:15:00Z",
	},
	{
		file: "forward.eml", id: "fwd-1@example.com", contact: "ivan@example.com", name: "Ivan Forwarder",
		subject: "Fwd: Your order confirmation", title: "Ivan Forwarder: Fwd: Your order confirmation",
		contains:    []string{"See below, the order shows the wrong address.", "---------- Forwarded message", "Order 991 will be shipped to: Old Street 1."},
		attachments: []string{OriginalName}, sentAt: "2025-03-11T11:15:00Z",
	},
	{
		file: "auto_replied.eml", id: "ooo-1@example.com", contact: "karl@example.com", name: "Karl",
		subject: "Out of office: Re: Your ticket", title: "Karl: Out of office: Re: Your ticket",
		text: "I am out of office until Monday.", auto: "auto-submitted: auto-replied",
		refs: []string{"inboxd.12.bbbb@example.com"}, attachments: []string{OriginalName}, sentAt: "2025-03-11T12:15:00Z",
	},
	{
		file: "precedence_bulk.eml", id: "bulk-1@shop.example", contact: "news@shop.example", name: "News",
		subject: "Weekly deals", title: "News: Weekly deals", text: "Deals of the week.", auto: "precedence: bulk",
		attachments: []string{OriginalName}, sentAt: "2025-03-11T13:15:00Z",
	},
	{
		file: "list_id.eml", id: "list-1@lists.example.org", contact: "dev@lists.example.org", name: "Dev List",
		subject: "[dev] Release 2.0", title: "Dev List: [dev] Release 2.0", text: "Release 2.0 is out.", auto: "list-id",
		attachments: []string{OriginalName}, sentAt: "2025-03-11T14:15:00Z",
	},
	{
		// Auto-Submitted: no does not count, X-Autoreply does.
		file: "x_autoreply.eml", id: "xauto-1@example.com", contact: "lena@example.com", name: "Lena",
		subject: "Automatic reply", title: "Lena: Automatic reply", text: "Thanks for your mail, I will answer soon.",
		auto: "x-autoreply", attachments: []string{OriginalName}, sentAt: "2025-03-11T15:15:00Z",
	},
	{
		file: "bounce_dsn.eml", id: "dsn-1@mx.example.com", contact: "mailer-daemon@mx.example.com", name: "Mail Delivery System",
		subject: "Undelivered Mail Returned to Sender", title: "Mail Delivery System: Undelivered Mail Returned to Sender",
		contains: []string{"could not\nbe delivered"}, auto: "auto-submitted: auto-replied",
		refs:        []string{"inboxd.21.c0ffee@example.com"},
		attachments: []string{"delivery-status.txt", "attachment-2.eml", OriginalName},
		bounce:      "inboxd.21.c0ffee@example.com",
		bounceErr:   "550 5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown in virtual mailbox table",
		meta:        map[string]string{MetaBounceOf: "inboxd.21.c0ffee@example.com"}, sentAt: "2025-03-12T10:00:00Z",
	},
	{
		file: "bounce_plain.eml", id: "qmail-bounce-1@mail.example.net", contact: "mailer-daemon@mail.example.net",
		name: "mailer-daemon@mail.example.net", subject: "failure notice", title: "mailer-daemon@mail.example.net: failure notice",
		contains: []string{"qmail-send program", "550 5.2.1 mailbox disabled"}, auto: "empty return-path",
		refs: []string{"inboxd.22.beef@example.com"}, attachments: []string{OriginalName},
		bounce: "inboxd.22.beef@example.com", bounceErr: "550 5.2.1 mailbox disabled", sentAt: "2025-03-12T11:00:00Z",
	},
	{
		// A delay warning is machine-sent but fails nothing.
		file: "bounce_delayed.eml", id: "dsn-delay-1@mx.example.com", contact: "mailer-daemon@mx.example.com",
		name: "Mail Delivery System", subject: "Delayed Mail (still being retried)",
		title: "Mail Delivery System: Delayed Mail (still being retried)",
		text:  "Your message is delayed; the mail system will keep trying.", auto: "empty return-path",
		refs:        []string{"inboxd.23.d00d@example.com"},
		attachments: []string{"delivery-status.txt", "attachment-2.txt", OriginalName}, sentAt: "2025-03-12T12:00:00Z",
	},
	{
		file: "malformed_boundary.eml", id: "broken-boundary-1@example.com", contact: "mallory@example.com", name: "Mallory",
		subject: "Broken multipart", title: "Mallory: Broken multipart", text: "The visible part of a broken mail.",
		attachments: []string{"data.bin", OriginalName}, parseError: "Missing Boundary", sentAt: "2025-03-13T10:00:00Z",
	},
	{
		file: "malformed_base64.eml", id: "broken-b64-1@example.com", contact: "oscar@example.com", name: "Oscar",
		subject: "Corrupt base64", title: "Oscar: Corrupt base64", contains: []string{"Readable start of the text."},
		attachments: []string{OriginalName}, parseError: "Malformed Base64", sentAt: "2025-03-13T11:00:00Z",
	},
	{
		file: "no_message_id.eml", id: "sha256-54e0ba10fb15cd010c4f5158e1d9ca1a@inboxd.invalid", contact: "peggy@example.com",
		name: "Peggy", subject: "No id", title: "Peggy: No id", text: "A mail without a Message-ID header.",
		attachments: []string{OriginalName}, meta: map[string]string{MetaSyntheticID: "true"}, sentAt: "2025-03-13T12:00:00Z",
	},
	{
		file: "reply_token.eml", id: "token-1@example.com", contact: "quentin@example.com", name: "Quentin",
		subject: "Re: Your request #42", title: "Quentin: Re: Your request #42",
		text:  "My mail client dropped the headers, but the address still works.",
		token: "Zx9_tok-42", attachments: []string{OriginalName}, sentAt: "2025-03-13T13:00:00Z",
	},
	{
		file: "no_from.eml", id: "nofrom-1@example.com", contact: "unknown-sender@inboxd.invalid", name: "Unknown sender",
		subject: "Who am I", title: "Unknown sender: Who am I", text: "There is no From header in this mail.",
		attachments: []string{OriginalName}, parseError: "no sender address", sentAt: "2025-03-13T14:00:00Z",
	},
	{
		// Headers enmime refuses: the lenient scan still finds the sender.
		file: "garbage_headers.eml", id: "garbage-1@example.com", contact: "rupert@example.com", name: "Rupert",
		subject: "\uFFFD broken bytes", title: "Rupert: \uFFFD broken bytes", text: "body without \uFFFDboundary",
		attachments: []string{OriginalName}, parseError: "malformed MIME header",
	},
	{
		file: "empty_return_path.eml", id: "notify-1@service.example", contact: "notify@service.example", name: "Notifier",
		subject: "Your password was changed", title: "Notifier: Your password was changed", text: "Your password was changed.",
		auto: "empty return-path", attachments: []string{OriginalName}, sentAt: "2025-03-13T15:00:00Z",
	},
	{
		file: "russian_reply.eml", id: "ru-reply-1@example.ru", contact: "anna@example.ru", name: "Анна",
		subject: "Re: Заказ", title: "Анна: Re: Заказ", text: "Спасибо, всё получила.",
		refs: []string{"inboxd.30.abab@example.com"}, attachments: []string{OriginalName}, sentAt: "2025-03-14T07:00:00Z",
	},
	{
		file: "reply_to_header.eml", id: "form-1@forms.example", contact: "noreply@forms.example", name: "Web Form",
		subject: "Contact form submission", title: "Web Form: Contact form submission",
		text: "Name: Victor\nMessage: please call me back.", attachments: []string{OriginalName},
		meta: map[string]string{MetaReplyTo: "victor@example.com"}, sentAt: "2025-03-14T11:00:00Z",
	},
	{
		file: "crlf_mobile.eml", id: "crlf-1@example.com", contact: "wendy@example.com", name: "Wendy",
		subject: "On the go", title: "Wendy: On the go", text: "Is the shop open on Sunday?",
		attachments: []string{OriginalName}, sentAt: "2025-03-14T12:00:00Z",
	},
	{
		file: "own_address.eml", id: "inboxd.40.own@example.com", contact: "support@example.com", name: "Support",
		subject: "Re: Copy of our own reply", title: "Support: Re: Copy of our own reply",
		text: "A copy of a reply we sent ourselves.", auto: "from own address",
		attachments: []string{OriginalName}, sentAt: "2025-03-14T13:00:00Z",
	},
}

func TestParseCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range corpus {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			p := Parse("mail", raw, testOpts)
			in := p.Inbound
			if err := in.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			eq := func(field, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			eq("ChannelID", in.ChannelID, "mail")
			eq("ExternalID", in.ExternalID, tc.id)
			eq("Contact.ExternalID", in.Contact.ExternalID, tc.contact)
			eq("Contact.Name", in.Contact.Name, tc.name)
			if !strings.HasSuffix(tc.contact, ".invalid") {
				eq("Contact.Email", in.Contact.Email, tc.contact)
			}
			eq("Subject", in.Subject, tc.subject)
			eq("Title", in.Title, tc.title)
			if tc.text != "" || tc.contains == nil {
				eq("Text", in.Text, tc.text)
			}
			for _, s := range tc.contains {
				if !strings.Contains(in.Text, s) {
					t.Errorf("Text %q does not contain %q", in.Text, s)
				}
			}
			for _, s := range tc.notContains {
				if strings.Contains(in.Text, s) {
					t.Errorf("Text %q contains %q", in.Text, s)
				}
			}
			if (in.HTML != "") != tc.html {
				t.Errorf("HTML = %q, want present=%v", in.HTML, tc.html)
			}
			if in.Auto != (tc.auto != "") {
				t.Errorf("Auto = %v, want %v", in.Auto, tc.auto != "")
			}
			eq("Meta[auto_reason]", in.Meta[MetaAutoReason], tc.auto)
			if !slices.Equal(in.References, tc.refs) {
				t.Errorf("References = %q, want %q", in.References, tc.refs)
			}
			eq("ThreadToken", in.ThreadToken, tc.token)
			var names []string
			for _, a := range in.Attachments {
				names = append(names, a.Name)
				if int64(len(a.Data)) != a.Size || a.Size == 0 {
					t.Errorf("attachment %s: size %d, %d bytes", a.Name, a.Size, len(a.Data))
				}
				if a.Name == OriginalName && (a.MIMEType != "message/rfc822" || string(a.Data) != string(raw)) {
					t.Errorf("original: type %s, %d bytes of %d", a.MIMEType, len(a.Data), len(raw))
				}
			}
			if !slices.Equal(names, tc.attachments) {
				t.Errorf("attachments = %q, want %q", names, tc.attachments)
			}
			switch {
			case tc.bounce == "" && p.Bounce != nil:
				t.Errorf("Bounce = %+v, want none", *p.Bounce)
			case tc.bounce != "" && p.Bounce == nil:
				t.Errorf("no Bounce, want one for %s", tc.bounce)
			case tc.bounce != "":
				eq("Bounce.ProviderID", p.Bounce.ProviderID, tc.bounce)
				eq("Bounce.Error", p.Bounce.Error, tc.bounceErr)
				eq("Bounce.ChannelID", p.Bounce.ChannelID, "mail")
				if p.Bounce.State != inbox.DeliveryFailed {
					t.Errorf("Bounce.State = %s", p.Bounce.State)
				}
			}
			if pe := in.Meta[MetaParseError]; (tc.parseError == "") != (pe == "") || !strings.Contains(pe, tc.parseError) {
				t.Errorf("Meta[parse_error] = %q, want %q", pe, tc.parseError)
			}
			for k, v := range tc.meta {
				eq("Meta["+k+"]", in.Meta[k], v)
			}
			want := time.Time{}
			if tc.sentAt != "" {
				want, _ = time.Parse(time.RFC3339, tc.sentAt)
			}
			if !in.SentAt.Equal(want) {
				t.Errorf("SentAt = %v, want %v", in.SentAt, want)
			}
		})
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no expectation in the corpus table", f)
		}
	}
	if len(files) < 25 {
		t.Errorf("corpus has %d files, want at least 25", len(files))
	}
}

// The same bytes give the same made-up id, so a refetch stays one message.
func TestParseSyntheticIDIsStable(t *testing.T) {
	raw, err := os.ReadFile("testdata/no_message_id.eml")
	if err != nil {
		t.Fatal(err)
	}
	a := Parse("mail", raw, testOpts).Inbound.ExternalID
	b := Parse("mail", append([]byte(nil), raw...), testOpts).Inbound.ExternalID
	c := Parse("mail", append(raw, '\n'), testOpts).Inbound.ExternalID
	if a != b || a == c {
		t.Errorf("ids %q %q %q: want the first two equal and the third different", a, b, c)
	}
}

func TestParseThreadTokenDomain(t *testing.T) {
	raw := []byte("From: a@example.com\nTo: reply+abc@other.example\nCc: reply+def@Reply.Example.com\nMessage-ID: <x@y>\n\nhi\n")
	if got := Parse("mail", raw, testOpts).Inbound.ThreadToken; got != "def" {
		t.Errorf("token = %q, want def (the one on the reply domain)", got)
	}
	if got := Parse("mail", raw, ParseOptions{}).Inbound.ThreadToken; got != "abc" {
		t.Errorf("token without reply domain = %q, want abc", got)
	}
}

func TestParseLimits(t *testing.T) {
	long := strings.Repeat("ä", inbox.MaxTextBytes) // twice the limit in bytes
	raw := []byte("From: a@example.com\nMessage-ID: <" + strings.Repeat("x", 600) + "@y>\nContent-Type: text/plain; charset=utf-8\n\n" + long + "\n")
	in := Parse("mail", raw, testOpts).Inbound
	if err := in.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(in.Text) > inbox.MaxTextBytes || in.Meta[MetaTruncated] != "true" {
		t.Errorf("text of %d bytes, truncated=%q", len(in.Text), in.Meta[MetaTruncated])
	}
	if !strings.HasPrefix(in.ExternalID, "sha256-") || in.Meta[MetaMessageIDRaw] == "" {
		t.Errorf("ExternalID = %q: an over-long Message-ID must be hashed", in.ExternalID)
	}

	var b strings.Builder
	b.WriteString("From: a@example.com\nMessage-ID: <many@y>\nContent-Type: multipart/mixed; boundary=B\n\n")
	for i := 0; i < 30; i++ {
		b.WriteString("--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=f.bin\n\nxx\n")
	}
	b.WriteString("--B--\n")
	in = Parse("mail", []byte(b.String()), testOpts).Inbound
	if err := in.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if n := len(in.Attachments); n != inbox.MaxAttachments || in.Attachments[n-1].Name != OriginalName {
		t.Errorf("%d attachments, last %q: want %d with the original last", n, in.Attachments[n-1].Name, inbox.MaxAttachments)
	}
	if in.Meta[MetaDropped] != "11" {
		t.Errorf("dropped = %q, want 11", in.Meta[MetaDropped])
	}
}

func TestStripQuoted(t *testing.T) {
	cases := []struct{ name, in, subject, want string }{
		{"inline answers keep the answers", "> question one\nanswer one\n> question two\nanswer two", "Re: x", "answer one\nanswer two"},
		{"only a quote stays whole", "> all quoted\n> nothing new", "Re: x", "> all quoted\n> nothing new"},
		{"german attribution", "Danke!\n\nAm 03.03.2025 um 10:00 schrieb Support <s@example.com>:\n> alt", "AW: x", "Danke!"},
		{"french attribution", "Merci\n\nLe lun. 3 mars 2025 à 10:00, Support <s@example.com> a écrit :\n> vieux", "RE: x", "Merci"},
		{"german outlook block", "Ok.\n\nVon: Support <s@example.com>\nGesendet: Montag, 3. März 2025 10:00\nAn: Kunde\nBetreff: x\n\nalt", "AW: x", "Ok."},
		{"signature dashes without space", "Hello\n--\nSig", "x", "Hello"},
		{"forward keeps quotes", "FYI\n\nOn Mon, Mar 3 2025 Bob wrote:\n> text", "Fw: x", "FYI\n\nOn Mon, Mar 3 2025 Bob wrote:\n> text"},
		{"a line starting with From is text", "From: the start I had problems.\nPlease help.", "x", "From: the start I had problems.\nPlease help."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := stripQuoted(tc.in, tc.subject)
			if got != tc.want {
				t.Errorf("stripQuoted(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAutoReason(t *testing.T) {
	cases := []struct {
		headers map[string]string
		from    string
		want    string
	}{
		{map[string]string{"Auto-Submitted": "auto-generated; owner-email=x@y"}, "a@b", "auto-submitted: auto-generated"},
		{map[string]string{"Auto-Submitted": "No"}, "a@b", ""},
		{map[string]string{"Precedence": "junk"}, "a@b", "precedence: junk"},
		{map[string]string{"Precedence": "first-class"}, "a@b", ""},
		{map[string]string{"X-Autorespond": "yes"}, "a@b", "x-autorespond"},
		{nil, "postmaster@example.com", "sender: postmaster"},
		{nil, "Support@Example.com", "from own address"},
		{nil, "customer@example.com", ""},
	}
	for _, tc := range cases {
		h := func(name string) string { return tc.headers[name] }
		if got := autoReason(h, tc.from, "support@example.com"); got != tc.want {
			t.Errorf("autoReason(%v, %s) = %q, want %q", tc.headers, tc.from, got, tc.want)
		}
	}
}
