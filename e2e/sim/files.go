package sim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// readCap is the most /files/read returns at once: 16 pages of 4 KiB
// (files.cpp: std::min(length, os::pagesize() * 16)).
const readCap = 16 * 4096

// fileSystem is a member's "files" process (src/files/files.cpp): real
// paths attached under virtual paths, and the browse, read, download and
// debug endpoints over them. Only what is attached is served.
type fileSystem struct {
	c     *Cluster
	realm string
	// prepare, if set, runs before every request: agents write their
	// sandboxes to disk and attach them on first use.
	prepare func() error

	mu    sync.RWMutex
	paths map[string]string // virtual path -> canonical real path
}

func newFileSystem(c *Cluster, realm string, prepare func() error) *fileSystem {
	return &fileSystem{c: c, realm: realm, prepare: prepare, paths: map[string]string{}}
}

// attach serves the file or directory real under virtual, as
// Files::attach does: the real path is canonicalised and must be readable.
func (f *fileSystem) attach(real, virtual string) error {
	canon, err := filepath.EvalSymlinks(real)
	if err != nil {
		return fmt.Errorf("attach %s: %w", real, err)
	}
	if err := syscall.Access(canon, 4 /* R_OK */); err != nil {
		return fmt.Errorf("attach %s: %w", real, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths[strings.TrimSuffix(virtual, "/")] = canon
	return nil
}

// Errors of resolve, mapped to statuses as files.cpp maps FilesError.
var (
	errFileNotFound = errors.New("not found")
	errFileInvalid  = errors.New("invalid")
)

// resolve maps a virtual path to a real one the way FilesProcess::resolve
// does: the longest attached prefix wins; below an attached directory the
// rest is joined on and canonicalised, and must stay inside it; below an
// attached file nothing exists.
func (f *fileSystem) resolve(p string) (string, error) {
	if len(p) > maxPath {
		return "", fmt.Errorf("%w: Failed to determine canonical path of '%s': File name too long", errFileInvalid, p)
	}
	p = strings.TrimSuffix(p, "/")
	f.mu.RLock()
	defer f.mu.RUnlock()
	for prefix := p; ; {
		if base, ok := f.paths[prefix]; ok {
			return f.below(base, strings.TrimPrefix(p[len(prefix):], "/"))
		}
		i := strings.LastIndex(prefix, "/")
		if i < 0 {
			return "", errFileNotFound
		}
		prefix = prefix[:i]
	}
}

// maxPath is PATH_MAX: longer paths fail realpath() in Mesos.
const maxPath = 4096

// below resolves suffix under the attached base.
func (f *fileSystem) below(base, suffix string) (string, error) {
	st, err := os.Stat(base)
	if err != nil || !st.IsDir() {
		if suffix != "" {
			return "", errFileNotFound
		}
		return base, nil
	}
	joined := filepath.Join(base, suffix)
	real, err := filepath.EvalSymlinks(joined)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", errFileNotFound
	} else if err != nil {
		return "", fmt.Errorf("%w: Failed to determine canonical path of '%s': %v", errFileInvalid, joined, err)
	}
	// Mesos compares with startsWith only; a sibling directory sharing
	// the prefix ("/sandbox2" for "/sandbox") is refused here.
	if real != base && !strings.HasPrefix(real, base+"/") {
		return "", fmt.Errorf("%w: '%s' is inaccessible", errFileInvalid, joined)
	}
	return real, nil
}

// serve handles /files/<endpoint>.
func (f *fileSystem) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	if !f.c.authorized(w, r, f.realm) {
		return
	}
	// files.cpp routes "/browse.json" and the others too, up to Mesos 1.x.
	endpoint = strings.TrimSuffix(endpoint, ".json")
	if f.prepare != nil {
		if err := f.prepare(); err != nil {
			text(w, http.StatusInternalServerError, "prepare sandboxes: "+err.Error())
			return
		}
	}
	if endpoint == "debug" {
		f.mu.RLock()
		paths := make(map[string]string, len(f.paths))
		for k, v := range f.paths {
			paths[k] = v
		}
		f.mu.RUnlock()
		writeJSON(w, r, paths)
		return
	}
	p := strings.TrimPrefix(r.URL.Query().Get("path"), "file://") // path::from_uri
	if p == "" {
		badRequest(w, "Expecting 'path=value' in query.\n")
		return
	}
	switch endpoint {
	case "browse":
		f.browse(w, r, p)
	case "read":
		f.read(w, r, p)
	case "download":
		f.download(w, r, p)
	default:
		notFound(w)
	}
}

// fileError answers a resolve error as files.cpp does.
func fileError(w http.ResponseWriter, err error) {
	msg, _ := strings.CutPrefix(err.Error(), errFileInvalid.Error()+": ")
	switch {
	case errors.Is(err, errFileNotFound):
		notFound(w)
	case errors.Is(err, errFileInvalid):
		badRequest(w, msg+".\n")
	default:
		text(w, http.StatusInternalServerError, msg+".\n")
	}
}

// fileInfoJSON is model(FileInfo) (common/http.cpp).
type fileInfoJSON struct {
	Path  string  `json:"path"`
	NLink uint64  `json:"nlink"`
	Size  int64   `json:"size"`
	MTime float64 `json:"mtime"`
	Mode  string  `json:"mode"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
}

// browse lists a directory; a file lists as empty (os::ls fails on it).
func (f *fileSystem) browse(w http.ResponseWriter, r *http.Request, p string) {
	real, err := f.resolve(p)
	if err != nil {
		fileError(w, err)
		return
	}
	listing := []fileInfoJSON{}
	entries, _ := os.ReadDir(real)
	// files.cpp orders the listing by full path (a std::map).
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		st, err := os.Stat(filepath.Join(real, e.Name())) // stat(): links followed
		if err != nil {
			continue
		}
		listing = append(listing, f.fileInfo(joinVirtual(p, e.Name()), st))
	}
	writeJSON(w, r, listing)
}

// joinVirtual joins like stout's path::join: one slash between the parts.
func joinVirtual(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}

func (f *fileSystem) fileInfo(p string, st os.FileInfo) fileInfoJSON {
	info := fileInfoJSON{Path: p, Size: st.Size(), MTime: float64(st.ModTime().UnixNano()) / 1e9, Mode: modeString(st.Mode()), NLink: 1}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		info.NLink = uint64(sys.Nlink)
		info.UID = f.c.names.user(sys.Uid)
		info.GID = f.c.names.group(sys.Gid)
	}
	return info
}

// modeString renders a mode as ls does ("drwxr-xr-x"), which is what
// common/http.cpp writes.
func modeString(m fs.FileMode) string {
	kind := byte('-')
	switch {
	case m.IsDir():
		kind = 'd'
	case m&fs.ModeCharDevice != 0:
		kind = 'c'
	case m&fs.ModeDevice != 0:
		kind = 'b'
	case m&fs.ModeNamedPipe != 0:
		kind = 'p'
	case m&fs.ModeSymlink != 0:
		kind = 'l'
	case m&fs.ModeSocket != 0:
		kind = 's'
	}
	b := []byte{kind}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if m.Perm()&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// idNames caches user and group names by id, as listings show names
// (createFileInfo) and looking them up reads /etc/passwd each time.
type idNames struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func (n *idNames) user(uid uint32) string {
	return n.lookup(&n.users, uid, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (n *idNames) group(gid uint32) string {
	return n.lookup(&n.groups, gid, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (n *idNames) lookup(cache *map[uint32]string, id uint32, find func(string) (string, error)) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := (*cache)[id]; ok {
		return name
	}
	name, err := find(strconv.Itoa(int(id)))
	if err != nil {
		name = strconv.Itoa(int(id))
	}
	if *cache == nil {
		*cache = map[uint32]string{}
	}
	(*cache)[id] = name
	return name
}

// read answers {"data": ..., "offset": ...} as FilesProcess::__read does:
// offset=-1 (the default) reads nothing and returns the file's size as the
// offset; length -1 (the default) means the rest of the file; every read
// is capped at readCap bytes.
func (f *fileSystem) read(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	offset := int64(-1)
	if q.Has("offset") {
		n, err := strconv.ParseInt(q.Get("offset"), 10, 64)
		if err != nil {
			badRequest(w, "Failed to parse offset: "+err.Error()+".\n")
			return
		}
		if n < -1 {
			badRequest(w, fmt.Sprintf("Negative offset provided: %d.\n", n))
			return
		}
		offset = n
	}
	length := int64(-1)
	if q.Has("length") {
		n, err := strconv.ParseInt(q.Get("length"), 10, 64)
		if err != nil {
			badRequest(w, "Failed to parse length: "+err.Error()+".\n")
			return
		}
		if n < -1 {
			badRequest(w, fmt.Sprintf("Negative length provided: %d.\n", n))
			return
		}
		length = n
	}
	from := offset
	if offset == -1 {
		from, length = 0, 0
	}
	real, err := f.resolve(p)
	if err != nil {
		fileError(w, err)
		return
	}
	size, data, err := readAt(real, from, length)
	if err != nil {
		fileError(w, err)
		return
	}
	if offset == -1 {
		offset = size
	}
	body := append([]byte(`{"data":`), appendRawString(nil, data)...)
	body = append(append(body, `,"offset":`...), strconv.FormatInt(offset, 10)...)
	writeJSONBytes(w, r, append(body, '}'))
}

// readAt reads up to length bytes (all when -1, capped) from offset and
// returns the file's size with them.
func readAt(real string, offset, length int64) (int64, []byte, error) {
	st, err := os.Stat(real)
	if err != nil {
		return 0, nil, errFileNotFound
	}
	if st.IsDir() {
		return 0, nil, fmt.Errorf("%w: Cannot read a directory", errFileInvalid)
	}
	file, err := os.Open(real)
	if err != nil {
		return 0, nil, fmt.Errorf("Failed to open file at '%s': %v", real, err)
	}
	defer file.Close()
	size, err := file.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, nil, fmt.Errorf("Failed to open file at '%s': %v", real, err)
	}
	if offset >= size {
		return size, nil, nil
	}
	if length == -1 {
		length = size - offset
	}
	length = min(length, readCap)
	buf := make([]byte, length)
	n, err := file.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, fmt.Errorf("Failed to read file at '%s': %v", real, err)
	}
	return size, buf[:n], nil
}

// download answers a file's bytes as an attachment, with a Content-Type
// from its extension (application/octet-stream otherwise); directories are
// refused.
func (f *fileSystem) download(w http.ResponseWriter, r *http.Request, p string) {
	real, err := f.resolve(p)
	if err != nil {
		fileError(w, err)
		return
	}
	file, err := os.Open(real)
	if err != nil {
		notFound(w)
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		notFound(w)
		return
	}
	if st.IsDir() {
		badRequest(w, "Cannot download a directory.\n")
		return
	}
	ctype := "application/octet-stream"
	if t, ok := downloadTypes[strings.TrimPrefix(filepath.Ext(real), ".")]; ok {
		ctype = t
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename="+filepath.Base(real))
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, file) // sendfile on plain connections
	}
}

// downloadTypes are Content-Types by extension, a subset of stout's
// mime::types.
var downloadTypes = map[string]string{
	"txt":  "text/plain",
	"html": "text/html",
	"htm":  "text/html",
	"css":  "text/css",
	"js":   "application/javascript",
	"json": "application/json",
	"xml":  "application/xml",
	"png":  "image/png",
	"jpg":  "image/jpeg",
	"gif":  "image/gif",
	"svg":  "image/svg+xml",
	"pdf":  "application/pdf",
	"zip":  "application/zip",
	"gz":   "application/x-gzip",
	"tgz":  "application/x-gzip",
	"tar":  "application/x-tar",
	"jar":  "application/java-archive",
}
