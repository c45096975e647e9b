package datasphere

// Describe implements integration.Describer: the node and its URL.
func (it *Integration) Describe() string { return "node " + it.nodeID + " at " + it.url }
