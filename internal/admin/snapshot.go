package admin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// SnapshotTempPattern names the temporary copy of a snapshot being sent, in
// Config.TempDir (os.CreateTemp pattern; also a filepath.Glob pattern). A
// server may delete matching files left by a crash when it starts.
const SnapshotTempPattern = "admin-snapshot-*.tmp"

// cmdSnapshot streams a consistent snapshot of the server's state (zkd's
// snapshot format, which restore reads back; not ZooKeeper's). The state is
// captured at one zxid under the server's lock, written to a temporary file
// so that its size is known and a failure is a clean 500 rather than a
// truncated 200, then sent with ZooKeeper's last_zxid and snapshot_size
// headers.
func cmdSnapshot(c *call) *response {
	if !c.s.cfg.SnapshotEnabled {
		return c.fail(http.StatusServiceUnavailable, "the snapshot command is disabled (admin.snapshot.enabled=false)")
	}
	sn, ok := c.s.src.(Snapshotter)
	if !ok {
		return c.fail(http.StatusNotImplemented, "snapshot is not supported by this server")
	}
	streaming := true
	if v := c.args.Get("streaming"); c.args.Has("streaming") {
		// Java's Boolean.parseBoolean: "true" in any case, else false.
		streaming = strings.EqualFold(v, "true")
	}
	if !streaming {
		// ZooKeeper then takes a snapshot into its data directory without
		// sending it. zkd takes snapshots itself every snapCount entries
		// and has no way to force one from here.
		return c.fail(http.StatusNotImplemented, "snapshot with streaming=false (take a snapshot on the server without downloading it) is not supported by zkd; omit the parameter to download one")
	}
	if !c.s.snapLimit.allow() {
		c.s.log.Warn("admin snapshot request was rate limited", "remote", c.req.RemoteAddr)
		return c.fail(http.StatusTooManyRequests, fmt.Sprintf("snapshot is rate limited to one request every %v (admin.rateLimiterIntervalInMS)", c.s.cfg.RateLimit))
	}
	zxid, write, err := sn.Snapshot()
	if err != nil {
		return c.fail(http.StatusInternalServerError, "taking the snapshot: "+err.Error())
	}
	f, err := os.CreateTemp(c.s.cfg.TempDir, SnapshotTempPattern)
	if err != nil {
		return c.fail(http.StatusInternalServerError, "taking the snapshot: "+err.Error())
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return c.fail(http.StatusInternalServerError, "writing the snapshot: "+err.Error())
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return c.fail(http.StatusInternalServerError, "reading the snapshot back: "+err.Error())
	}
	h := c.w.Header()
	h.Set("last_zxid", "0x"+strconv.FormatUint(uint64(zxid), 16))
	h.Set("snapshot_size", strconv.FormatInt(size, 10))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	c.w.WriteHeader(http.StatusOK)
	if c.req.Method != http.MethodHead {
		if _, err := io.Copy(c.w, f); err != nil {
			// The status is sent; all that is left is to say why the
			// client got fewer bytes than Content-Length promised.
			c.s.log.Warn("admin snapshot: sending failed", "remote", c.req.RemoteAddr, "err", err)
		}
	}
	c.s.log.Info("admin snapshot sent", "remote", c.req.RemoteAddr, "zxid", fmt.Sprintf("0x%x", zxid), "bytes", size)
	return &response{command: c.cmd.names[0], status: http.StatusOK, streamed: true}
}

// cmdRestore loads a snapshot from the request body, in ZooKeeper's order of
// checks: enabled, a body, the rate limit, then the restore itself. A body
// declared too large is refused before the rate limit, so a mistaken upload
// does not cost the operator the next five minutes.
func cmdRestore(c *call) *response {
	if !c.s.cfg.RestoreEnabled {
		return c.fail(http.StatusServiceUnavailable, "the restore command is disabled (admin.restore.enabled=false)")
	}
	sn, ok := c.s.src.(Snapshotter)
	if !ok {
		return c.fail(http.StatusNotImplemented, "restore is not supported by this server")
	}
	if err := sn.CanRestore(); err != nil {
		return c.fail(restoreStatus(err), err.Error())
	}
	body := bufio.NewReaderSize(c.req.Body, 64<<10)
	if _, err := body.Peek(1); err != nil {
		return c.fail(http.StatusBadRequest, "restore needs the snapshot as the request body")
	}
	if limit := c.s.cfg.MaxRestoreBytes; limit > 0 && c.req.ContentLength > limit {
		return c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the snapshot is %d bytes; a restore carries at most %d (%s)", c.req.ContentLength, limit, mib(limit)))
	}
	if !c.s.restLimit.allow() {
		c.s.log.Warn("admin restore request was rate limited", "remote", c.req.RemoteAddr)
		return c.fail(http.StatusTooManyRequests, fmt.Sprintf("restore is rate limited to one request every %v (admin.rateLimiterIntervalInMS)", c.s.cfg.RateLimit))
	}
	zxid, err := sn.Restore(body)
	if err != nil {
		c.s.log.Warn("admin restore failed", "remote", c.req.RemoteAddr, "err", err)
		return c.fail(restoreStatus(err), "restoring the snapshot: "+err.Error())
	}
	c.s.log.Warn("admin restore replaced the server's state", "remote", c.req.RemoteAddr, "zxid", fmt.Sprintf("0x%x", zxid))
	r := c.reply()
	r.data.Put("last_zxid", zxid)
	return r
}

func restoreStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotSupported):
		return http.StatusNotImplemented
	case errors.Is(err, ErrBadSnapshot):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// mib shows a byte count in MiB for messages, e.g. "63 MiB".
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
