// Command uploadbench uploads one file to a relay with the uploader
// (create drop, resumable upload, complete) and prints the seconds taken.
// bench/upload.sh uses it to compare with curl through the same proxy.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/uploader"
)

func main() {
	relayURL := flag.String("relay", "", "relay base URL")
	token := flag.String("token", "", "enrolment token")
	proxy := flag.String("proxy", "", "proxy URL")
	ca := flag.String("ca", "", "extra CA bundle")
	sum := flag.String("sha256", "", "hex SHA-256 of the file (computed if empty)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: uploadbench --relay URL --token T [--proxy URL] [--ca FILE] [--sha256 HEX] FILE")
		os.Exit(2)
	}
	if err := run(*relayURL, *token, *proxy, *ca, *sum, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "uploadbench:", err)
		os.Exit(1)
	}
}

func run(relayURL, token, proxy, ca, sum, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c, err := uploader.New(relayURL, token, uploader.Options{Proxy: proxy, CA: ca})
	if err != nil {
		return err
	}
	start := time.Now()
	d, err := c.Send(context.Background(), relayapi.CreateDropRequest{Size: st.Size(), SHA256: sum, Mode: "key"}, f, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%.3f %s\n", time.Since(start).Seconds(), d.ID)
	return nil
}
