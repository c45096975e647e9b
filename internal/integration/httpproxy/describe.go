package httpproxy

// Describe implements integration.Describer: the upstream URL as written.
func (it *Integration) Describe() string {
	u := it.url
	var s string
	if u.static != nil {
		s = u.static.String()
	} else {
		s = u.scheme + "://" + u.host.String() + u.path.String()
		if q := u.rawQuery.String(); q != "" {
			s += "?" + q
		}
	}
	if it.method != "" {
		return it.method + " " + s
	}
	return s
}
