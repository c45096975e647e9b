package ymq

// Describe implements integration.Describer: the queue's URL.
func (it *Integration) Describe() string { return "queue " + it.url }
