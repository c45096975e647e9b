package ydb

// Describe implements integration.Describer: the action and the table.
func (it *Integration) Describe() string { return it.action + " on table " + it.table.String() }
