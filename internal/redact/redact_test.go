package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := map[string]string{
		"/verify/Zm9vYmFyYmF6cXV4":                            "/verify/[token]",
		"/manage/abcDEF123_-":                                 "/manage/[token]",
		"/vks/v1/by-email/martin%40police.example":            "/vks/v1/by-email/[address]",
		"/vks/v1/by-email/martin@police.example":              "/vks/v1/by-email/[address]",
		"/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39":   "/.well-known/openpgpkey/hu/[hash]",
		"/.well-known/openpgpkey/police.example/hu/abc":       "/.well-known/openpgpkey/police.example/hu/[hash]",
		"token spt_q1w2e3r4t5y6u7i8o9p0 refused":              "token spt_[token] refused",
		"Authorization: Bearer abc.def-ghi":                   "Authorization: Bearer [credential]",
		"https://relay.example/d/ABCDEFGH#s3cr3tS3cr3tS3cr3t": "https://relay.example/d/ABCDEFGH#[secret]",
		"GET /jobs?key=abcdef":                                "GET /jobs?[query]",
		"550 <martin@police.example>: no such user":           "550 <[address]>: no such user",
		`{"code":"482913"}`:                                   `{"code":"[redacted]"}`,
		"passphrase=hunter2 failed":                           "passphrase=[redacted] failed",
		"/api/v1/drops/9mnNQYtz5FbbyG-WnjDvUQ/blob":           "/api/v1/drops/9mnNQYtz5FbbyG-WnjDvUQ/blob",
	}
	for in, want := range cases {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Path("/verify/tok?x=1#frag"); got != "/verify/[token]" {
		t.Errorf("Path: %q", got)
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("who", "dr@hospital.example")
	log.Info("mail to martin@police.example failed",
		"err", errors.New("smtp: 550 martin@police.example"),
		slog.Group("req", "path", "/manage/sekrit-token"),
		"to", []string{"a@b.example"})
	out := buf.String()
	for _, secret := range []string{"martin@police.example", "dr@hospital.example", "sekrit-token", "a@b.example"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q logged: %s", secret, out)
		}
	}
}
