package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// TestSimBadFlags: every mistake ends with one line and exit status 2.
func TestSimBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not_a_number", []string{"--agents", "many"}, `--agents="many": not a number from 0 to 15000`},
		{"unknown_flag", []string{"--agent", "3"}, "unknown flag --agent"},
		{"bad_mode", []string{"--modes", "plain,tls"}, `--modes="tls": unknown mode; use plain, downgrade, ssl or ssl-clientcert`},
		{"bad_master_mode", []string{"--master-modes", "secure"}, `--master-modes="secure": unknown mode`},
		{"no_masters", []string{"--masters", "0"}, `--masters="0": not a number from 1 to 9`},
		{"negative_agents", []string{"--agents", "-1"}, `--agents="-1"`},
		{"empty_modes", []string{"--modes", ""}, "--modes: empty mode list"},
		{"missing_webui", []string{"--webui-dir", "/nonexistent"}, `--webui-dir="/nonexistent": does not exist`},
		{"extra_argument", []string{"now"}, `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := simCommand(context.Background(), tc.args, nil, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "mesosgate sim: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q, want one line containing %q", msg, tc.want)
			}
		})
	}
	var stdout bytes.Buffer
	if code := simCommand(context.Background(), []string{"-h"}, nil, &stdout, &bytes.Buffer{}); code != 0 || !strings.Contains(stdout.String(), "-master-modes") {
		t.Errorf("-h: exit %d, output %q", code, stdout.String())
	}
}

// TestSimRuns starts `mesosgate sim`, reads what it prints, uses the
// cluster it describes, and stops it as SIGINT would.
func TestSimRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testsupport.Buffer
	done := make(chan int)
	go func() {
		done <- simCommand(ctx, []string{"--masters", "2", "--master-modes", "plain,ssl", "--agents", "3", "--modes", "plain,downgrade"}, nil, &stdout, &stderr)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "Running until interrupted") {
		select {
		case code := <-done:
			t.Fatalf("exited %d before running: %s %s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cluster after 60s; output: %s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := stdout.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^leader +plain +http://localhost:\d+ `),
		regexp.MustCompile(`(?m)^standby +ssl +https://localhost:\d+ `),
		regexp.MustCompile(`(?m)^\S+-S0 +plain +http://localhost:\d+ +slave\(1\)@127\.0\.0\.1:\d+$`),
		regexp.MustCompile(`(?m)^\S+-S1 +downgrade +https://localhost:(\d+) \(and http://localhost:\d+\)`),
		regexp.MustCompile(`(?m)^\S+-S2 +downgrade `),
		regexp.MustCompile(`(?m)^marathon +http://localhost:\d+ `),
		regexp.MustCompile(`(?m)^CA to trust for the SSL members: /\S+/ca\.pem$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	caFile := regexp.MustCompile(`CA to trust for the SSL members: (\S+)`).FindStringSubmatch(out)[1]
	if _, err := os.Stat(caFile); err != nil {
		t.Errorf("CA file: %v", err)
	}
	webui := regexp.MustCompile(`WebUI: (\S+)`).FindStringSubmatch(out)[1]
	resp, err := http.Get(webui + "master/state")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET %smaster/state: %v %v", webui, err, resp)
	}
	if resp != nil {
		resp.Body.Close()
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after interrupt; stderr %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after the interrupt")
	}
	if _, err := os.Stat(caFile); !os.IsNotExist(err) {
		t.Errorf("the temporary directory survived: %v", err)
	}
}
