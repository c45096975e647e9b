package dummy

import "strconv"

// Describe implements integration.Describer: the fixed answer's status.
func (it *Integration) Describe() string { return "answers " + strconv.Itoa(it.status) }
