package filetransfer

import "testing"

// The sink starts the writeback of each complete writebackChunk.
func TestSinkWriteback(t *testing.T) {
	const c = writebackChunk
	for _, tc := range []struct {
		name   string
		resume int64 // bytes an interrupted transfer left
		writes []int64
		want   int64 // flushed
	}{
		{"under a chunk", 0, []int64{c / 4, c / 4, c / 4}, 0},
		{"one chunk", 0, []int64{c}, c},
		{"over in two writes", 0, []int64{c - 1, 2}, c + 1},
		{"two and a bit", 0, []int64{c, c / 2, c / 2, 10}, 2 * c},
		{"one big write", 0, []int64{2*c + 5}, 2*c + 5},
		{"resumed, under a chunk", c / 2, []int64{c - 1}, c / 2},
		{"resumed, a chunk", c / 2, []int64{c}, c/2 + c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			f := &File{Name: "f", Size: -1}
			if tc.resume > 0 {
				s, err := d.create(f, testSender, true, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Write(make([]byte, tc.resume)); err != nil {
					t.Fatal(err)
				}
				s.abort(true)
			}
			s, err := d.create(f, testSender, tc.resume > 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.abort(false)
			if s.offset != tc.resume {
				t.Fatalf("resumed at %d, want %d", s.offset, tc.resume)
			}
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
