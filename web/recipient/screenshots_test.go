package recipient_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/internal/testutil"
)

// screenshots takes (under SEALPRINT_INTEGRATION=1, as scripts/test runs)
// the decrypted page in French and English, phone and desktop sized, and
// writes them to testutil.ScreenshotDir: docs/screenshots/ when
// scripts/screenshots runs, a temporary directory otherwise.
func (e *browserEnv) screenshots(t *testing.T, ctx context.Context) {
	t.Helper()
	if !testutil.Integration() {
		return
	}
	dir := testutil.ScreenshotDir(t)
	for _, lang := range []string{"fr", "en"} {
		for _, dev := range []struct {
			name          string
			width, height int64
			opts          []chromedp.EmulateViewportOption
		}{
			{"desktop", 1280, 900, []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}},
			{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch}},
		} {
			// The viewport is made as tall as the page, so that the PDF
			// viewer paints all of itself; the waits let it lay out and only
			// affect the picture, not any assertion.
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(dev.width, dev.height, dev.opts...),
				chromedp.Click(chromedp.CSS(`button[data-lang=`+lang+`]`)),
				chromedp.Sleep(500*time.Millisecond),
			)
			if err != nil {
				t.Fatal(err)
			}
			// The frame's height follows the viewport's: measure twice.
			for range 2 {
				h, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
				if err != nil {
					t.Fatal(err)
				}
				err = chromedp.Do(ctx,
					chromedp.EmulateViewport(dev.width, max(h, dev.height), dev.opts...),
					chromedp.Sleep(1500*time.Millisecond),
				)
				if err != nil {
					t.Fatal(err)
				}
			}
			shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, "recipient-"+lang+"-"+dev.name+".png")
			if err := os.WriteFile(name, shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// shot writes one screenshot of the page as it is, in lang, as
// recipient-NAME.png in testutil.ScreenshotDir.
func shot(t *testing.T, ctx context.Context, name, lang string, phone bool) {
	t.Helper()
	if !testutil.Integration() {
		return
	}
	w, h := int64(1280), int64(900)
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if phone {
		w, h = 390, 844
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch}
	}
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(w, h, opts...),
		chromedp.Click(chromedp.CSS(`button[data-lang=`+lang+`]`)),
		chromedp.Sleep(300*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(testutil.ScreenshotDir(t), "recipient-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
