package filetransfer

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestStalePartials(t *testing.T) {
	now := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	old, young := now.Add(-25*time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		entries []partialEntry
		maxAge  time.Duration
		want    []string
	}{
		{"old resumable partial", []partialEntry{{".jingle-0a1b.part", true, old}}, day, []string{".jingle-0a1b.part"}},
		{"old fresh partial", []partialEntry{{".jingle-tmp-0a1b.part", true, old}}, day, []string{".jingle-tmp-0a1b.part"}},
		{"young partial kept for resume", []partialEntry{{".jingle-0a1b.part", true, young}}, day, nil},
		{"exactly maxAge is not older", []partialEntry{{".jingle-0a1b.part", true, now.Add(-day)}}, day, nil},
		{"a received file is never a partial", []partialEntry{{"report.part", true, old}, {"jingle-0a1b.part", true, old}}, day, nil},
		{"other dot files", []partialEntry{{".jingle-0a1b", true, old}, {".bashrc", true, old}, {".jingle-.part", true, old}}, day, nil},
		{"not a regular file (symlink, directory)", []partialEntry{{".jingle-0a1b.part", false, old}}, day, nil},
		{"zero max age cleans nothing", []partialEntry{{".jingle-0a1b.part", true, old}}, 0, nil},
		{"negative max age cleans nothing", []partialEntry{{".jingle-0a1b.part", true, old}}, -time.Second, nil},
		{"mixed, sorted", []partialEntry{
			{".jingle-tmp-ff.part", true, old}, {".jingle-cc.part", true, young}, {".jingle-aa.part", true, old}, {"aa.bin", true, old},
		}, day, []string{".jingle-aa.part", ".jingle-tmp-ff.part"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stalePartials(tc.entries, now, tc.maxAge); !slices.Equal(got, tc.want) {
				t.Fatalf("stalePartials = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCleanPartials: on a real directory, only old partial files that
// nobody holds go; a young one stays for a resume, an old one another
// process holds (its flock) stays, and nothing else in the directory is
// touched, links included.
func TestCleanPartials(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	write := func(name string, mtime time.Time) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial bytes"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(".jingle-000000000000000000000001.part", old)
	write(".jingle-tmp-000000000000000000000002.part", old)
	write(".jingle-000000000000000000000003.part", time.Now())
	held := write(".jingle-000000000000000000000004.part", old)
	write("finished.bin", old)
	target := write("target.bin", old)
	if err := os.Symlink(target, filepath.Join(dir, ".jingle-000000000000000000000005.part")); err != nil {
		t.Fatal(err)
	}
	// Another receiver holds this one: a separate open file description
	// with the flock, as another process would have.
	hf, err := os.OpenFile(held, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	if err := syscall.Flock(int(hf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	removed, err := d.CleanPartials(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".jingle-000000000000000000000001.part", ".jingle-tmp-000000000000000000000002.part"}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	var left []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		left = append(left, de.Name())
	}
	want := []string{".jingle-000000000000000000000003.part", ".jingle-000000000000000000000004.part", ".jingle-000000000000000000000005.part", "finished.bin", "target.bin"}
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	// Once its holder is gone, the old one goes too.
	hf.Close()
	if removed, err := d.CleanPartials(time.Hour); err != nil || !slices.Equal(removed, []string{".jingle-000000000000000000000004.part"}) {
		t.Fatalf("after the holder ended: removed %v, %v", removed, err)
	}
	if removed, err := d.CleanPartials(0); err != nil || removed != nil {
		t.Fatalf("max age 0: removed %v, %v", removed, err)
	}
}

// TestCleanPartialsSparesTransfers: the partial file of a transfer that
// runs in this process is never removed, however old it looks.
func TestCleanPartialsSparesTransfers(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f := &File{Name: "big.iso", Size: 100, Hashes: []Hash{{Algo: DefaultHashAlgo, Value: make([]byte, 32)}}}
	for _, resume := range []bool{true, false} {
		s, err := d.create(f, "alice@example.org/x", resume, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("some")); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-48 * time.Hour)
		if err := os.Chtimes(filepath.Join(d.Path(), s.tmp), old, old); err != nil {
			t.Fatal(err)
		}
		if removed, err := d.CleanPartials(time.Hour); err != nil || len(removed) != 0 {
			t.Fatalf("resume %v: removed %v (%v) while the transfer runs", resume, removed, err)
		}
		s.abort(false)
	}
}
