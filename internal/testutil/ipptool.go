package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	ippOperationRe = regexp.MustCompile(`(?m)^\s*OPERATION\s+(\S+)`)
	ippIncludeRe   = regexp.MustCompile(`(?m)^\s*INCLUDE\s+"([^"]+)"`)
)

// IpptoolOperationTests writes into dir a copy of each ipptool suite file
// (read from srcDir), and of the files it INCLUDEs under the same names,
// that keeps the file's top-level directives (DEFINE, INCLUDE, comments…)
// and only the tests whose OPERATION is op. It returns, for each file
// written, how many tests ipptool runs for it, included files counted, so
// that a caller can check that none was left out.
func IpptoolOperationTests(srcDir, dir, op string, files ...string) (map[string]int, error) {
	counts := map[string]int{}
	var do func(name string, depth int) (int, error)
	do = func(name string, depth int) (int, error) {
		if n, ok := counts[name]; ok {
			return n, nil
		}
		if depth > 8 || filepath.Base(name) != name {
			return 0, fmt.Errorf("ipptool suite %q: include too deep or not a plain name", name)
		}
		b, err := os.ReadFile(filepath.Join(srcDir, name))
		if err != nil {
			return 0, fmt.Errorf("read ipptool suite: %w", err)
		}
		top, tests, err := splitIppTests(string(b))
		if err != nil {
			return 0, fmt.Errorf("ipptool suite %s: %w", name, err)
		}
		var out strings.Builder
		n := 0
		for _, inc := range ippIncludeRe.FindAllStringSubmatch(strings.Join(top, ""), -1) {
			k, err := do(inc[1], depth+1)
			if err != nil {
				return 0, err
			}
			n += k
		}
		for i, t := range tests {
			out.WriteString(top[i])
			if m := ippOperationRe.FindStringSubmatch(t); m != nil && m[1] == op {
				out.WriteString(t)
				n++
			}
		}
		out.WriteString(top[len(tests)])
		if err := os.WriteFile(filepath.Join(dir, name), []byte(out.String()), 0o644); err != nil {
			return 0, fmt.Errorf("write ipptool suite: %w", err)
		}
		counts[name] = n
		return n, nil
	}
	for _, f := range files {
		if _, err := do(f, 0); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// splitIppTests cuts an ipptool file into its top-level text and its test
// blocks ({ … }, with nested collection braces): top[i] precedes tests[i],
// and top has one element more than tests. Braces in quoted strings and
// comments do not count.
func splitIppTests(s string) (top, tests []string, err error) {
	depth, start := 0, 0
	var quote byte
	comment := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case comment:
			comment = c != '\n'
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '#':
			comment = true
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			if depth == 0 {
				top = append(top, s[start:i])
				start = i
			}
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return nil, nil, fmt.Errorf("unbalanced } at byte %d", i)
			}
			if depth == 0 {
				tests = append(tests, s[start:i+1])
				start = i + 1
			}
		}
	}
	if depth != 0 || quote != 0 {
		return nil, nil, fmt.Errorf("unterminated test block or string")
	}
	return append(top, s[start:]), tests, nil
}
