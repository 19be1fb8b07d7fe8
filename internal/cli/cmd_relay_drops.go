package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

const relayDropsUsage = `sealrelay drops COMMAND

Commands:
  list (--data DIR | --db URL) [--json]   list drops: id, state, size, created, expires, downloads (never content)`

// dropRow is one drop in `sealrelay drops list --json`.
type dropRow struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	Size         int64     `json:"size"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Downloads    int       `json:"downloads"`
	MaxDownloads int       `json:"max_downloads"`
	Mode         string    `json:"mode"`
}

func runRelayDrops(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayDropsUsage)
		if len(args) == 0 {
			return usageError("drops: missing command")
		}
		return errHelp
	}
	if args[0] != "list" {
		return usageError("drops: unknown command %q (try sealrelay drops --help)", args[0])
	}
	fs := newFlags("drops list", "sealrelay drops list --data DIR [--json]", e.stderr)
	storage := addRelayStorageFlags(fs)
	jsonOut := fs.Bool("json", false, "print JSON lines")
	if _, err := parsePositional(fs, args[1:], 0, 0, "sealrelay drops list --data DIR [--json]"); err != nil {
		return err
	}
	if err := storage.check("drops list"); err != nil {
		return err
	}
	st, err := storage.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	drops, err := st.Drops(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	rows := make([]dropRow, 0, len(drops))
	for _, d := range drops {
		rows = append(rows, dropRow{ID: d.ID, State: d.StateAt(now), Size: d.Size, CreatedAt: d.CreatedAt,
			ExpiresAt: d.ExpiresAt, Downloads: d.Downloads, MaxDownloads: d.MaxDownloads, Mode: d.Mode})
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tCREATED\tEXPIRES\tDOWNLOADS")
	for _, r := range rows {
		limit := "∞"
		if r.MaxDownloads > 0 {
			limit = fmt.Sprint(r.MaxDownloads)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d/%s\n", r.ID, r.State, r.Size,
			r.CreatedAt.Format(time.RFC3339), r.ExpiresAt.Format(time.RFC3339), r.Downloads, limit)
	}
	return tw.Flush()
}
