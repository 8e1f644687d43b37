package filetransfer

import "testing"

// The sink starts the writeback of each complete writebackChunk.
func TestSinkWriteback(t *testing.T) {
	const c = writebackChunk
	for _, tc := range []struct {
		name   string
		writes []int64
		want   int64 // flushed
	}{
		{"under a chunk", []int64{c / 4, c / 4, c / 4}, 0},
		{"one chunk", []int64{c}, c},
		{"over in two writes", []int64{c - 1, 2}, c + 1},
		{"two and a bit", []int64{c, c / 2, c / 2, 10}, 2 * c},
		{"one big write", []int64{2*c + 5}, 2*c + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			s, err := d.create(&File{Name: "f", Size: -1}, testSender, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.abort(false)
			for _, n := range tc.writes {
				if _, err := s.Write(make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}
			if s.flushed != tc.want {
				t.Fatalf("writeback started up to %d, want %d", s.flushed, tc.want)
			}
		})
	}
}
