package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sparkgate/sparkgate/client"
)

// credentials are the client commands' ways to authenticate. Secrets come from files or the
// environment, never from the command line, where ps shows them.
type credentials struct {
	user, passwordFile, tokenFile string
}

func (c *credentials) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.user, "user", os.Getenv("SPARKGATE_USER"), "user name, for a server with --auth basic or ldap (default $SPARKGATE_USER)")
	fs.StringVar(&c.passwordFile, "password-file", "", "file holding the user's password (default $SPARKGATE_PASSWORD)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding a bearer token, for a server with --auth jwt (default $SPARKGATE_TOKEN); read at each request")
}

// option is the client option of the credentials given, if any.
func (c *credentials) option() ([]client.Option, error) {
	token := os.Getenv("SPARKGATE_TOKEN")
	switch {
	case c.tokenFile != "" && c.user != "":
		return nil, errors.New("give --user or --token-file, not both")
	case c.tokenFile != "":
		if _, err := readSecret(c.tokenFile); err != nil {
			return nil, err
		}
		return []client.Option{client.WithBearerToken(func() string { t, _ := readSecret(c.tokenFile); return t })}, nil
	case c.user != "":
		password := os.Getenv("SPARKGATE_PASSWORD")
		if c.passwordFile != "" {
			var err error
			if password, err = readSecret(c.passwordFile); err != nil {
				return nil, err
			}
		}
		if password == "" {
			return nil, errors.New("--user needs --password-file or $SPARKGATE_PASSWORD")
		}
		return []client.Option{client.WithBasicAuth(c.user, password)}, nil
	case token != "":
		return []client.Option{client.WithBearerToken(func() string { return token })}, nil
	}
	return nil, nil
}

// readSecret reads a one-line secret file, without its line break.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
