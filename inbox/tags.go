package inbox

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tags label conversations ("billing", "vip"). Owners and admins keep the
// list; anyone who may act on a conversation sets its tags from it.

// Limits of tags.
const (
	// MaxTagNameRunes bounds a tag's name.
	MaxTagNameRunes = 32
	// MaxTags bounds the tags of the whole team.
	MaxTags = 200
	// MaxConversationTags bounds the tags of one conversation.
	MaxConversationTags = 10
)

// DefaultTagColor is the color of a tag created without one.
const DefaultTagColor = "#6b7280"

// ActivityTagged records a change of a conversation's tags; its data
// holds "added" and "removed", comma-separated names.
const ActivityTagged ActivityKind = "tagged"

// Tag is a label the team puts on conversations.
type Tag struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
}

var tagColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// NormalizeTagName returns the stored form of a tag's name: trimmed, lower
// case, inner spaces collapsed. A name is 1 to MaxTagNameRunes letters,
// digits, spaces and "-_.", starting with a letter or digit, so that it
// reads the same in a URL, a CSV cell and an HTML attribute.
func NormalizeTagName(name string) (string, error) {
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	switch {
	case n == "":
		return "", Invalid("name", "is required")
	case !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxTagNameRunes:
		return "", Invalid("name", "must be at most %d characters", MaxTagNameRunes)
	}
	for i, r := range n {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && strings.ContainsRune(" -_.", r))
		if !ok {
			return "", Invalid("name", "may hold letters, digits, spaces and - _ . (starting with a letter or digit)")
		}
	}
	return n, nil
}

// NewTag validates a tag to create.
func NewTag(name, color string, now time.Time) (*Tag, error) {
	n, err := NormalizeTagName(name)
	if err != nil {
		return nil, err
	}
	if color == "" {
		color = DefaultTagColor
	}
	if !tagColor.MatchString(color) {
		return nil, Invalid("color", "must be #rrggbb")
	}
	return &Tag{Name: n, Color: strings.ToLower(color), CreatedAt: now}, nil
}

// CanManageTags reports whether u may create and delete tags.
func CanManageTags(u *User) bool { return u.Role.IsAdmin() }

// NormalizeTagSet returns the distinct normalized names of a conversation's
// new tags, sorted, within MaxConversationTags.
func NormalizeTagSet(names []string) ([]string, error) {
	if len(names) > 10*MaxConversationTags {
		return nil, Invalid("tags", "at most %d tags per conversation", MaxConversationTags)
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		n, err := NormalizeTagName(name)
		if err != nil {
			err.(*Error).Field = "tags"
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxConversationTags {
		return nil, Invalid("tags", "at most %d tags per conversation", MaxConversationTags)
	}
	slices.Sort(out)
	return out, nil
}

// TagChange is what setting a conversation's tags changes.
type TagChange struct {
	Added, Removed []string
}

// Changes reports whether anything changed.
func (c TagChange) Changes() bool { return len(c.Added)+len(c.Removed) > 0 }

// DiffTags compares the old and new sets of names.
func DiffTags(old, next []string) TagChange {
	var c TagChange
	for _, n := range next {
		if !slices.Contains(old, n) {
			c.Added = append(c.Added, n)
		}
	}
	for _, o := range old {
		if !slices.Contains(next, o) {
			c.Removed = append(c.Removed, o)
		}
	}
	return c
}

// TaggedSummary is a conversation as a tag change's live event shows it:
// the summary with the conversation's tags (other conversation events
// leave "tags" out; clients keep what they show).
type TaggedSummary struct {
	ConversationSummary
	Tags []string `json:"tags"`
}
