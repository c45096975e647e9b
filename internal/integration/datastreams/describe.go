package datastreams

// Describe implements integration.Describer: the stream.
func (it *Integration) Describe() string { return "stream " + it.stream }
