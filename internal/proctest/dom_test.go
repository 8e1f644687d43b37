package proctest

import (
	"reflect"
	"testing"
)

func TestElements(t *testing.T) {
	page := `<!doctype html><html><body>
<p id="health" class="badge">ok</p>
<ul><li data-kind="audio"><b>1</b> audio</li><li data-kind="file"><b>0</b>
 file</li></ul>
<tr><td>not in a table</td></tr>
</body></html>`
	els, err := Elements(page)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ByID(els, "health"); !ok || got != "ok" {
		t.Errorf("ByID(health) = %q, %v", got, ok)
	}
	if _, ok := ByID(els, "missing"); ok {
		t.Error("ByID found a missing id")
	}
	var texts []string
	for _, e := range Find(els, "li") {
		texts = append(texts, e.Text)
	}
	if want := []string{"1 audio", "0 file"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("li texts %q, want %q", texts, want)
	}
	if m := Find(els, "li", "data-kind=audio"); len(m) != 1 || m[0].Text != "1 audio" {
		t.Errorf("Find(li, data-kind=audio) = %+v", m)
	}
	if m := Find(els, "", "class=badge", "id=health"); len(m) != 1 {
		t.Errorf("Find by two attributes = %+v", m)
	}
	if m := Find(els, "li", "data-kind=video"); len(m) != 0 {
		t.Errorf("Find matched a missing value: %+v", m)
	}
}
