package containers

// Describe implements integration.Describer: the container's URL.
func (it *Integration) Describe() string { return it.base.String() }
