package queues

import "testing"

// TestCSVCellEscapesFormulas: a cell starting with a formula character,
// ASCII or fullwidth, is prefixed with a quote; other text is untouched.
func TestCSVCellEscapesFormulas(t *testing.T) {
	for _, s := range []string{"=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
		"＝HYPERLINK(\"http://x\")", "＋1", "－1", "＠SUM(A1)"} {
		if got := cell(s); got != "'"+s {
			t.Errorf("cell(%q) = %q, want it escaped", s, got)
		}
	}
	for _, s := range []string{"", "Maria", "1=1", "ann@example.com", "Ж", "(=)"} {
		if got := cell(s); got != s {
			t.Errorf("cell(%q) = %q, want it untouched", s, got)
		}
	}
}
