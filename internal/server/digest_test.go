package server

import "testing"

func TestDigestLogKeepsTheNewestInOrder(t *testing.T) {
	var d digestLog
	for z := int64(1); z <= digestInterval*(digestLimit+5); z++ {
		d.record(z, uint64(z*7))
	}
	got := d.entries()
	if len(got) != digestLimit {
		t.Fatalf("got %d entries, want %d", len(got), digestLimit)
	}
	if first, want := got[0].Zxid, int64(digestInterval*6); first != want {
		t.Errorf("oldest zxid: got %d, want %d", first, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Zxid != got[i-1].Zxid+digestInterval || got[i].Digest != got[i].Zxid*7 {
			t.Fatalf("entry %d: got %+v after %+v", i, got[i], got[i-1])
		}
	}
}
