package printer

import (
	"bytes"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
)

var infoPage = template.Must(template.New("info").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sealprint printer</title></head>
<body><h1>Sealed printer</h1>
<p>Documents printed here are encrypted before they leave this computer.</p>
<table><tr><th>Queue</th><th>URI</th><th>Recipients</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td><code>{{.URI}}</code></td><td>{{if .Recipients}}{{.Recipients}}{{else}}chosen after printing{{end}}</td></tr>
{{end}}</table></body></html>
`))

// serveInfo shows the queues and their URIs (printer-more-info).
func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request) {
	type row struct{ Name, URI, Recipients string }
	var rows []row
	host := requestHost(r, s.cfg.Listen)
	for _, q := range s.queues() {
		rec := ""
		for i, e := range q.Recipients {
			if i > 0 {
				rec += ", "
			}
			rec += e
		}
		rows = append(rows, row{q.Name, QueueURI(host, q.Name), rec})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	infoPage.Execute(w, rows)
}

var (
	iconOnce sync.Once
	iconPNG  []byte
)

// serveIcon serves the printer icon (printer-icons): a sealed envelope.
func serveIcon(w http.ResponseWriter, r *http.Request) {
	iconOnce.Do(func() { iconPNG = drawIcon(128) })
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=86400")
	w.Write(iconPNG)
}

// drawIcon draws an n×n envelope with a red seal.
func drawIcon(n int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	paper := color.NRGBA{0xf4, 0xf1, 0xe8, 0xff}
	edge := color.NRGBA{0x44, 0x44, 0x44, 0xff}
	seal := color.NRGBA{0xb0, 0x1c, 0x1c, 0xff}
	top, bottom, left, right := n/4, n*3/4, n/16, n-n/16
	for y := top; y < bottom; y++ {
		for x := left; x < right; x++ {
			c := paper
			if y == top || y == bottom-1 || x == left || x == right-1 {
				c = edge
			}
			// Flap: two lines from the top corners to the centre.
			dx := x - left
			if dx > (right-left)/2 {
				dx = right - 1 - x
			}
			if y-top == dx*(bottom-top)/(right-left) {
				c = edge
			}
			img.SetNRGBA(x, y, c)
		}
	}
	cx, cy, r := n/2, (top+bottom)/2+n/16, n/8
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
				img.SetNRGBA(x, y, seal)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
