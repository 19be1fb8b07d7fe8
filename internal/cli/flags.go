package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlags returns a FlagSet whose --help prints usage and the flags to w.
func newFlags(name, usage string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags and positional arguments in any order
// ("seal FILE --to a" as well as "seal --to a FILE") and returns the
// positional arguments. A "--" ends flag parsing.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, fmt.Errorf("%w: %s", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable string flag; each value may also hold several
// comma-separated items.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, min, max int, usage string) error {
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return usageError("usage: %s", usage)
	}
	return nil
}

// parsePositional is parseArgs followed by wantArgs: the positional
// arguments, of which there must be min to max (max < 0: no limit).
func parsePositional(fs *flag.FlagSet, args []string, min, max int, usage string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(pos, min, max, usage); err != nil {
		return nil, err
	}
	return pos, nil
}
