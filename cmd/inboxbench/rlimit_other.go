//go:build !unix

package main

func raiseOpenFiles(need uint64) (string, error) {
	return "open-file limit: not adjustable on this system", nil
}
