package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"text/tabwriter"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/printer"
)

// queueView is one queue as listed by 'sealprint queues'.
type queueView struct {
	Name       string   `json:"name"`
	URI        string   `json:"uri"`
	Recipients []string `json:"recipients"`
	Default    bool     `json:"default,omitempty"`
}

func runQueues(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runQueuesAdd(e, args[1:])
		case "remove", "rm":
			return runQueuesRemove(e, args[1:])
		case "list", "ls":
			args = args[1:]
		}
	}
	const usage = "sealprint queues [--json] | queues add NAME --to EMAIL[,EMAIL] | queues remove NAME"
	fs := newFlags("queues", usage+`

Lists the printer queues and their IPP URIs. The queue "sealed" always
exists: its jobs wait until recipients are chosen on the jobs page. Other
queues send every job to fixed recipients. A running 'sealprint serve'
picks up changes without a restart.`, e.stderr)
	jsonOut := fs.Bool("json", false, "print a JSON array of queues")
	_, err := parsePositional(fs, args, 0, 0, usage)
	if err != nil {
		return err
	}
	_, cfg, err := loadQueueConfig(e)
	if err != nil {
		return err
	}
	listen := queueListen(cfg)
	views := []queueView{{Name: printer.DefaultQueue, URI: printer.QueueURI(listen, printer.DefaultQueue), Recipients: []string{}, Default: true}}
	for _, q := range cfg.Queues {
		if q.Name == printer.DefaultQueue {
			continue
		}
		views = append(views, queueView{Name: q.Name, URI: printer.QueueURI(listen, q.Name), Recipients: append([]string{}, q.Recipients...)})
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tURI\tRECIPIENTS")
	for _, v := range views {
		rec := strings.Join(v.Recipients, ", ")
		if v.Default {
			rec = "(chosen after printing)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.URI, rec)
	}
	return tw.Flush()
}

func runQueuesAdd(e *env, args []string) error {
	const usage = "sealprint queues add NAME --to EMAIL[,EMAIL]"
	fs := newFlags("queues add", usage+`

Adds a queue whose jobs go to the given recipients without any click, or
replaces the recipients of an existing queue. Then add the printer to the
system, e.g. lpadmin -p NAME -E -v URI -m everywhere (see the URI printed).`, e.stderr)
	var to listFlag
	fs.Var(&to, "to", "recipient email address (repeat or separate with commas)")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	name := pos[0]
	if err := printer.ValidQueueName(name); err != nil {
		return usageError("%v", err)
	}
	if name == printer.DefaultQueue {
		return usageError("%q is the default queue: its recipients are chosen after printing", name)
	}
	if len(to) == 0 {
		return usageError("queues add needs --to EMAIL")
	}
	recipients, err := checkEmails(to)
	if err != nil {
		return err
	}
	home, cfg, err := loadQueueConfig(e)
	if err != nil {
		return err
	}
	verb := "added"
	if q := cfg.Queue(name); q != nil {
		q.Recipients = recipients
		verb = "updated"
	} else {
		cfg.Queues = append(cfg.Queues, config.Queue{Name: name, Recipients: recipients})
	}
	if err := config.Save(home, cfg); err != nil {
		return err
	}
	uri := printer.QueueURI(queueListen(cfg), name)
	fmt.Fprintf(e.stdout, "%s queue %s → %s\n%s\n", verb, name, strings.Join(recipients, ", "), uri)
	if verb == "added" {
		fmt.Fprintf(e.stdout, "add it to the system with: lpadmin -p %s -E -v %s -m everywhere\n", name, uri)
	}
	return nil
}

func runQueuesRemove(e *env, args []string) error {
	const usage = "sealprint queues remove NAME"
	fs := newFlags("queues remove", usage+"\n\nRemoves a queue from the config (not from the operating system's printers).", e.stderr)
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	name := pos[0]
	if name == printer.DefaultQueue {
		return usageError("the default queue %q cannot be removed", name)
	}
	home, cfg, err := loadQueueConfig(e)
	if err != nil {
		return err
	}
	kept := cfg.Queues[:0]
	found := false
	for _, q := range cfg.Queues {
		if q.Name == name {
			found = true
			continue
		}
		kept = append(kept, q)
	}
	if !found {
		return fmt.Errorf("no queue named %q (see 'sealprint queues')", name)
	}
	cfg.Queues = kept
	if err := config.Save(home, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed queue %s\n", name)
	return nil
}

// loadQueueConfig reads the config file (without environment overrides,
// since it may be saved back).
func loadQueueConfig(e *env) (string, *config.Config, error) {
	home, err := config.Home(e.getenv)
	if err != nil {
		return "", nil, err
	}
	cfg, err := config.LoadFile(home)
	if err != nil {
		return "", nil, err
	}
	return home, cfg, nil
}

// queueListen returns the printer's listen address from the config.
func queueListen(cfg *config.Config) string {
	if cfg.Printer.Listen != "" {
		return cfg.Printer.Listen
	}
	return printer.DefaultListen
}

// checkEmails validates plain email addresses and removes duplicates.
func checkEmails(list []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
			return nil, usageError("--to %q: not a plain email address", s)
		}
		k := strings.ToLower(s)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out, nil
}
