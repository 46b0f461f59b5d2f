package rewrite

// appendSrcset maps each image URL of a srcset (or imagesrcset) value,
// following the HTML standard's parsing of candidate strings: a URL is a
// run of non-whitespace (trailing commas are not part of it), and its
// descriptors run to the next comma outside parentheses. When one URL
// changes it returns dst with the whole rewritten value appended and true.
func (c *pageContext) appendSrcset(dst, v []byte) ([]byte, bool) {
	e := spanEditor{dst: dst, src: v}
	n := len(v)
	for i := 0; ; {
		for i < n && (isSpace(v[i]) || v[i] == ',') {
			i++
		}
		if i >= n {
			break
		}
		s := i
		for i < n && !isSpace(v[i]) {
			i++
		}
		end := i
		if v[end-1] == ',' {
			for end > s && v[end-1] == ',' {
				end--
			}
		} else {
			depth := 0
		descriptors:
			for ; i < n; i++ {
				switch v[i] {
				case '(':
					depth++
				case ')':
					if depth > 0 {
						depth--
					}
				case ',':
					if depth == 0 {
						i++
						break descriptors
					}
				}
			}
		}
		if end > s {
			e.mapURL(c, s, end)
		}
	}
	return e.finish()
}

// appendList maps each URL of a whitespace-separated list (ping).
func (c *pageContext) appendList(dst, v []byte) ([]byte, bool) {
	e := spanEditor{dst: dst, src: v}
	for i := 0; i < len(v); {
		for i < len(v) && isSpace(v[i]) {
			i++
		}
		s := i
		for i < len(v) && !isSpace(v[i]) {
			i++
		}
		if i > s {
			e.mapURL(c, s, i)
		}
	}
	return e.finish()
}
