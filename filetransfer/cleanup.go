package filetransfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// DefaultPartialMaxAge is how long a partial file waits for its sender
// to resume before a start-up clean-up removes it: a day covers a
// laptop closed overnight, and bounds what crashed or killed receivers
// leave behind.
const DefaultPartialMaxAge = 24 * time.Hour

// partialEntry is what the clean-up knows of one directory entry.
type partialEntry struct {
	name    string
	regular bool
	modTime time.Time
}

// isPartialName reports whether name is one of our partial files:
// .jingle-<id>.part (resumable, partialName) or .jingle-tmp-<id>.part
// (freshPartialName). SanitizeName never yields a leading dot, so no
// received file is ever taken for one. Resume keeps no other state: the
// name itself identifies sender and file.
func isPartialName(name string) bool {
	return strings.HasPrefix(name, ".jingle-") && strings.HasSuffix(name, ".part") && len(name) > len(".jingle-.part")
}

// stalePartials selects the partial files among entries whose last
// write is more than maxAge before now, sorted: what a crashed or killed
// receiver left and no sender came back for. Younger ones stay for a
// resume; anything that is not a regular file of ours is never touched.
// maxAge <= 0 selects nothing.
func stalePartials(entries []partialEntry, now time.Time, maxAge time.Duration) []string {
	if maxAge <= 0 {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.regular && isPartialName(e.name) && now.Sub(e.modTime) > maxAge {
			out = append(out, e.name)
		}
	}
	sort.Strings(out)
	return out
}

// CleanPartials removes the partial files (see isPartialName) last
// written more than maxAge ago, and returns their names. Call it at
// start-up, before receiving. A partial file that a transfer holds, in
// this process (Dir's names in use) or in another one sharing the
// directory (its flock), is never removed, however old: a slow sender
// may still be writing to it. maxAge <= 0 removes nothing.
func (d *Dir) CleanPartials(maxAge time.Duration) ([]string, error) {
	if maxAge <= 0 {
		return nil, nil
	}
	f, err := d.root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("filetransfer: listing %s: %w", d.path, err)
	}
	des, err := f.ReadDir(-1)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("filetransfer: listing %s: %w", d.path, err)
	}
	var entries []partialEntry
	for _, de := range des {
		if !isPartialName(de.Name()) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // gone meanwhile
		}
		entries = append(entries, partialEntry{name: de.Name(), regular: fi.Mode().IsRegular(), modTime: fi.ModTime()})
	}
	var removed []string
	var errs []error
	for _, name := range stalePartials(entries, time.Now(), maxAge) {
		ok, err := d.removeUnheld(name)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, name)
		}
	}
	return removed, errors.Join(errs...)
}

// removeUnheld removes the partial file name unless a transfer holds
// it. It takes the file's lock first, so a receiver in another process
// that opens it meanwhile waits for the lock and then sees that its name
// no longer leads to the file (openResumable checks), and removes only
// the file it locked.
func (d *Dir) removeUnheld(name string) (bool, error) {
	if !d.claim(name, nil) {
		return false, nil
	}
	defer d.release(name)
	fl, err := d.root.OpenFile(name, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("filetransfer: opening %s: %w", name, err)
	}
	defer fl.Close()
	if !lockPartial(fl) {
		return false, nil // a live transfer in another process
	}
	if !d.stillNamed(fl, name) {
		return false, nil
	}
	if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("filetransfer: removing %s: %w", name, err)
	}
	return true, nil
}

// stillNamed reports whether name in d is still the file fl has open
// (no one removed or replaced it since it was opened).
func (d *Dir) stillNamed(fl *os.File, name string) bool {
	a, err := fl.Stat()
	if err != nil {
		return false
	}
	b, err := d.root.Lstat(name)
	return err == nil && os.SameFile(a, b)
}
