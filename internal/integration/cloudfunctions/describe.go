package cloudfunctions

// Describe implements integration.Describer: the function, its tag, and
// where the bindings run it.
func (it *Integration) Describe() string {
	return it.functionID + ":" + it.tag.String() + " → " + it.target.Describe()
}
