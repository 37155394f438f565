package adapters

import (
	"fmt"
	"net/url"
	"strings"
)

// Required checks key/value pairs ("page_id", cfg.PageID, ...) and names
// the first key whose value is empty.
func Required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return fmt.Errorf("%s: is required", pairs[i])
		}
	}
	return nil
}

// BaseURL validates a provider's api_base_url (def when empty): an
// absolute http(s) URL without query or fragment, returned without its
// trailing slash so that adapters can append method paths.
func BaseURL(raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("api_base_url: must be an http(s) URL without query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}
