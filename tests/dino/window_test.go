package dino

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"sort"
	"strconv"
	"strings"
	"time"
)

// xwindow is one visible X window of Dino's: its id, title and geometry.
type xwindow struct {
	id    string
	name  string
	frame image.Rectangle
}

func (w xwindow) String() string {
	return fmt.Sprintf("%s %q %dx%d at %d,%d", w.id, w.name, w.frame.Dx(), w.frame.Dy(), w.frame.Min.X, w.frame.Min.Y)
}

// windows lists Dino's visible top-level windows, bottom to top as
// xdotool reports them (the X stacking order, no window manager).
func (d *dinoProc) windows() ([]xwindow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.run(ctx, "xdotool", "search", "--onlyvisible", "--class", "dino")
	if err != nil && strings.TrimSpace(out) != "" {
		return nil, err
	}
	var ws []xwindow
	for _, id := range strings.Fields(out) {
		g, err := d.run(ctx, "xdotool", "getwindowgeometry", "--shell", id)
		if err != nil {
			continue // closed between the search and now
		}
		kv := map[string]int{}
		for _, line := range strings.Split(g, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
				kv[k], _ = strconv.Atoi(v)
			}
		}
		name, _ := d.run(ctx, "xdotool", "getwindowname", id)
		ws = append(ws, xwindow{id: id, name: strings.TrimSpace(name),
			frame: image.Rect(kv["X"], kv["Y"], kv["X"]+kv["WIDTH"], kv["Y"]+kv["HEIGHT"])})
	}
	return ws, nil
}

// callWindow finds Dino's call window (704x528, unlike the 1200x700 main
// window) and raises it: with no window manager, a window Dino presents
// later (its main window, after a notification's action) can cover it,
// and a covered window's pixels are not on the screen x11grab reads.
func (d *dinoProc) callWindow() (xwindow, bool, error) {
	ws, err := d.windows()
	if err != nil {
		return xwindow{}, false, err
	}
	for _, w := range ws {
		if w.frame.Dx() < 1000 && w.frame.Dx() >= 400 && w.frame.Dy() >= 300 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := d.run(ctx, "xdotool", "windowraise", w.id)
			cancel()
			return w, true, err
		}
	}
	return xwindow{}, false, nil
}

// describe names the most common colours of r in img (on a coarse grid,
// quantised to 32 levels), for a failure message that says what the
// screen showed instead.
func describe(img *image.RGBA, r image.Rectangle) string {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return "nothing (region off the screen)"
	}
	count := map[color.RGBA]int{}
	total := 0
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			c := img.RGBAAt(x, y)
			count[color.RGBA{R: c.R &^ 31, G: c.G &^ 31, B: c.B &^ 31, A: 255}]++
			total++
		}
	}
	type kc struct {
		c color.RGBA
		n int
	}
	var all []kc
	for c, n := range count {
		all = append(all, kc{c, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	var parts []string
	for i := 0; i < len(all) && i < 4; i++ {
		parts = append(parts, fmt.Sprintf("(%d,%d,%d)±32 %.0f%%", all[i].c.R, all[i].c.G, all[i].c.B, 100*float64(all[i].n)/float64(total)))
	}
	return strings.Join(parts, ", ")
}
