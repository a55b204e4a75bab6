package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

// The simulators run in a child process, so that the RSS measured is the
// exporter's alone. The parent drives them over a line protocol on the
// child's stdin: "latency <duration>" sets every vendor's latency (0 for
// none), "requests" asks for the total requests served; each command is
// answered with one line. The config comes first, ended by endOfConfig.
const endOfConfig = "---end-of-config---"

func serveSimulators(in io.Reader, out io.Writer, grants int) error {
	now := time.Now()
	demo, injectors, err := faults.StartDemo(now)
	if err != nil {
		return err
	}
	defer func() { _ = demo.Close() }()
	if all := simulator.DemoVZICloudGrants(now); grants < len(all) {
		demo.VZICloud().SetGrants(all[:grants])
	}
	if _, err := fmt.Fprintf(out, "%s\n%s\n", demo.ConfigYAML(), endOfConfig); err != nil {
		return err
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		cmd, arg, _ := strings.Cut(lines.Text(), " ")
		switch cmd {
		case "latency":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return err
			}
			fault := faults.Fault{}
			if d > 0 {
				fault = faults.Fault{Kind: faults.Latency, Delay: d}
			}
			for _, inj := range injectors {
				inj.SetFault(fault)
			}
			_, err = fmt.Fprintln(out, "ok")
			if err != nil {
				return err
			}
		case "requests":
			var n int64
			for _, inj := range injectors {
				n += inj.Requests()
			}
			if _, err := fmt.Fprintln(out, n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
	}
	return lines.Err() // EOF: the parent is done
}

// simulators is the parent's handle on the child.
type simulators struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	config []byte
}

// startSimulators starts the child with grants vzicloud grants (at most the
// demo's 3,000).
func startSimulators(grants int) (*simulators, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &simulators{cmd: exec.Command(self, "-simulators", "-grants", strconv.Itoa(grants))}
	s.cmd.Stderr = os.Stderr
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewReader(stdout)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	var cfg bytes.Buffer
	for {
		line, err := s.out.ReadString('\n')
		if err != nil {
			return nil, errors.Join(err, s.close())
		}
		if strings.TrimSpace(line) == endOfConfig {
			break
		}
		cfg.WriteString(line)
	}
	s.config = cfg.Bytes()
	return s, nil
}

func (s *simulators) ask(command string) (string, error) {
	if _, err := fmt.Fprintln(s.in, command); err != nil {
		return "", err
	}
	answer, err := s.out.ReadString('\n')
	return strings.TrimSpace(answer), err
}

func (s *simulators) setLatency(d time.Duration) error {
	_, err := s.ask("latency " + d.String())
	return err
}

func (s *simulators) requests() (int64, error) {
	answer, err := s.ask("requests")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(answer, 10, 64)
}

func (s *simulators) close() error {
	_ = s.in.Close()
	return s.cmd.Wait()
}
