//go:build !unix

package cli

func ignoreBackgroundRead() {}

func isBackgroundRead(error) bool { return false }
