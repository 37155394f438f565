package inbox

import (
	"strings"
	"unicode/utf8"
)

// formulaStarts are the characters that make a spreadsheet read a cell
// as a formula, with their fullwidth forms (some spreadsheets fold them).
const formulaStarts = "=+-@\t\r＝＋－＠"

// SpreadsheetSafe keeps text from running as a formula when a CSV export
// is opened in a spreadsheet: a cell starting like a formula gets a
// leading apostrophe. Every CSV export uses it.
func SpreadsheetSafe(s string) string {
	if r, _ := utf8.DecodeRuneInString(s); s != "" && strings.ContainsRune(formulaStarts, r) {
		return "'" + s
	}
	return s
}
