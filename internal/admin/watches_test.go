package admin

import "testing"

// TestWatchListingsSayWhatWasCut: a listing cut short by the watch limit
// carries zkd's truncation fields after ZooKeeper's; a complete one has
// ZooKeeper's shape exactly (TestRepliesMatchZooKeeperBytes).
func TestWatchListingsSayWhatWasCut(t *testing.T) {
	tests := []struct {
		path    string
		omitted int
		want    string
	}{
		{"/commands/watches", 7, `{
  "session_id_to_watched_paths" : {
    "72057869577814016" : [ "/a", "/e" ]
  },
  "truncated" : true,
  "omitted_watches" : 7,
  "max_listed_watches" : 100000,
  "command" : "watches",
  "error" : null
}`},
		{"/commands/watches_by_path", -1, `{
  "path_to_session_ids" : {
    "/a" : [ 72057869577814016 ],
    "/e" : [ 72057869577814016 ]
  },
  "truncated" : true,
  "max_listed_watches" : 100000,
  "command" : "watches_by_path",
  "error" : null
}`},
		{"/commands/watches_by_path", 0, `{
  "path_to_session_ids" : {
    "/a" : [ 72057869577814016 ],
    "/e" : [ 72057869577814016 ]
  },
  "command" : "watches_by_path",
  "error" : null
}`},
	}
	for _, tt := range tests {
		src := standaloneSource()
		src.omittedWatches = tt.omitted
		rec := do(newTestServer(src).AdminHandler(), "GET", tt.path, nil)
		if got := rec.Body.String(); got != tt.want {
			t.Errorf("%s with %d omitted: got\n%s\nwant\n%s", tt.path, tt.omitted, got, tt.want)
		}
	}
}
