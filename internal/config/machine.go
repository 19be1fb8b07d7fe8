package config

import (
	"fmt"
	"strings"
)

// Machine settings are set by IT for the whole computer: on Windows in the
// registry, under HKLM\SOFTWARE\Sealprint (written by the MSI from its
// properties) and HKLM\SOFTWARE\Policies\Sealprint (written by Group
// Policy from the ADMX template), the policy winning. Their value names:
const (
	MachineRelay  = "RelayURL" // relay base URL
	MachineToken  = "Token"    // enrolment token
	MachineProxy  = "Proxy"    // explicit proxy URL
	MachinePAC    = "PAC"      // proxy auto-config URL or path
	MachineCA     = "CA"       // PEM file of extra trusted CAs
	MachineQueues = "Queues"   // "Name=email[,email];Name2=email"
	MachineHome   = "Home"     // sealprint's home directory for the service
	MachineListen = "Listen"   // the printer's address, host:port
)

// ApplyMachine overlays machine settings m on c.
func ApplyMachine(c *Config, m map[string]string) error { return applyMachine(c, m) }

// applyMachine overlays machine settings m on c.
func applyMachine(c *Config, m map[string]string) error {
	for name, field := range map[string]*string{
		MachineRelay: &c.Relay, MachineToken: &c.Token, MachineProxy: &c.Proxy,
		MachinePAC: &c.PAC, MachineCA: &c.CA,
	} {
		if v := strings.TrimSpace(m[name]); v != "" {
			*field = v
		}
	}
	if v := strings.TrimSpace(m[MachineListen]); v != "" {
		c.Printer.Listen = v
	}
	if v := strings.TrimSpace(m[MachineQueues]); v != "" {
		qs, err := ParseQueues(v)
		if err != nil {
			return fmt.Errorf("machine setting %s: %w", MachineQueues, err)
		}
		for _, q := range qs {
			if old := c.Queue(q.Name); old != nil {
				old.Recipients = q.Recipients
			} else {
				c.Queues = append(c.Queues, q)
			}
		}
	}
	return nil
}

// ParseQueue reads one "Name=email[,email]" queue specification (the
// install command's --queue).
func ParseQueue(spec string) (Queue, error) {
	name, list, ok := strings.Cut(strings.TrimSpace(spec), "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Queue{}, fmt.Errorf("queue %q: want Name=email[,email]", spec)
	}
	q := Queue{Name: name}
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			q.Recipients = append(q.Recipients, a)
		}
	}
	if len(q.Recipients) == 0 {
		return Queue{}, fmt.Errorf("queue %q: no recipient", name)
	}
	return q, nil
}

// ParseQueues reads queue specifications separated by ';' or new lines
// (the MSI's QUEUES property, the ADMX policy).
func ParseQueues(s string) ([]Queue, error) {
	var out []Queue
	for _, spec := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		q, err := ParseQueue(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}
