package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestWriteOutputRegularAndLink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pdf")
	if err := WriteOutput(path, 0o600, writeString("one")); err != nil {
		t.Fatal(err)
	}
	// A link to a regular file keeps the link and replaces the target.
	link := filepath.Join(dir, "link.pdf")
	if err := os.Symlink(path, link); err != nil {
		if runtime.GOOS != "windows" {
			t.Fatal(err)
		}
		t.Skip(err) // creating links needs a privilege on Windows
	}
	if err := WriteOutput(link, 0o600, writeString("two")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced by %v", st.Mode())
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Fatalf("target holds %q", b)
	}
	// A dangling link and a directory are refused.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere"), dangling)
	if err := WriteOutput(dangling, 0o600, writeString("x")); err == nil || !strings.Contains(err.Error(), "dangling") {
		t.Fatalf("dangling link: %v", err)
	}
	if err := WriteOutput(dir, 0o600, writeString("x")); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
}
