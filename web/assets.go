package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// embedded holds the templates and the static assets, compiled into the
// binary: the gateway's pages need no files on disk and no front-end build.
// It is read-only.
//
//go:embed templates/*.html assets/*
var embedded embed.FS

// asset is one static file, read once at start.
type asset struct {
	name  string // "gateway.css"
	url   string // the fingerprinted path: "/gateway/assets/gateway.3f2a1b9c0d.css"
	body  []byte
	ctype string
	etag  string
}

// assetSet serves the embedded assets under one path. Each asset has a
// fingerprinted URL (its content hash in the name), served with a year of
// caching because a new build gives new content a new URL; the plain name
// still works, revalidated on every use, for anyone who typed it.
type assetSet struct {
	base   string            // "/gateway/assets/"
	byName map[string]*asset // "gateway.css"
	byURL  map[string]*asset // the fingerprinted path
}

// assetTypes are the content types of the asset extensions we ship; an
// asset of another type is a build mistake caught at start.
var assetTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

// loadAssets reads every file of dir in fsys and gives it a fingerprinted
// URL under base.
func loadAssets(fsys fs.FS, dir, base string) (*assetSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded assets: %w", err)
	}
	s := &assetSet{base: base, byName: map[string]*asset{}, byURL: map[string]*asset{}}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		a, err := readAsset(fsys, dir, e.Name(), base)
		if err != nil {
			return nil, err
		}
		s.byName[a.name] = a
		s.byURL[a.url] = a
	}
	return s, nil
}

// readAsset reads one asset and names it after its content.
func readAsset(fsys fs.FS, dir, name, base string) (*asset, error) {
	body, err := fs.ReadFile(fsys, path.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read embedded asset %s: %w", name, err)
	}
	ext := path.Ext(name)
	ctype, ok := assetTypes[ext]
	if !ok {
		return nil, fmt.Errorf("embedded asset %s: no content type for %q", name, ext)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:12]
	return &asset{
		name:  name,
		url:   base + strings.TrimSuffix(name, ext) + "." + hash + ext,
		body:  body,
		ctype: ctype,
		etag:  `"` + hash + `"`,
	}, nil
}

// URL returns the fingerprinted path of the named asset. Templates call it
// through the "asset" function; an unknown name is an error, so a typo
// fails the render (and the tests) instead of shipping a broken link.
func (s *assetSet) URL(name string) (string, error) {
	a, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("no embedded asset %q", name)
	}
	return a.url, nil
}

// lookup finds the asset a request path names, and whether the path was the
// fingerprinted one.
func (s *assetSet) lookup(p string) (a *asset, fingerprinted bool) {
	if a, ok := s.byURL[p]; ok {
		return a, true
	}
	if name, ok := strings.CutPrefix(p, s.base); ok {
		return s.byName[name], false
	}
	return nil, false
}

// serve writes the asset: immutable for a year under its fingerprinted
// URL, revalidated under its plain name. http.ServeContent answers
// conditional and range requests from the ETag.
func (s *assetSet) serve(w http.ResponseWriter, r *http.Request, a *asset, fingerprinted bool) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	if fingerprinted {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
